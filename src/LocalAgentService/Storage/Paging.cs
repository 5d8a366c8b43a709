namespace LocalAgentService.Storage;

/// <summary>List parameters as the protocol defines them: limit 1–100, order, and <c>after</c>/<c>before</c> cursors (object ids).</summary>
internal sealed record PageQuery(int Limit, bool Descending, string? After, string? Before)
{
    public static PageQuery Default { get; } = new(20, true, null, null);
}

/// <summary>One page of a list.</summary>
internal sealed record Page<T>(IReadOnlyList<T> Items, bool HasMore);

internal static class Paging
{
    /// <summary>Pages <paramref name="ascending"/> (items in creation order); an unknown cursor is a client mistake (400).</summary>
    public static Page<TOut> Apply<TItem, TOut>(IReadOnlyList<TItem> ascending, Func<TItem, string> id, PageQuery query, Func<TItem, TOut> project)
    {
        IReadOnlyList<TItem> ordered = query.Descending ? ascending.Reverse().ToList() : ascending;
        int start = 0, end = ordered.Count;
        if (query.After is not null)
        {
            start = IndexOf(ordered, id, query.After, "after") + 1;
        }

        if (query.Before is not null)
        {
            end = IndexOf(ordered, id, query.Before, "before");
        }

        if (end <= start)
        {
            return new Page<TOut>([], false);
        }

        // With only 'before', the page is the one adjacent to the cursor, like the real service.
        bool fromEnd = query.Before is not null && query.After is null;
        int count = Math.Min(query.Limit, end - start);
        int first = fromEnd ? end - count : start;
        var items = new List<TOut>(count);
        for (int i = first; i < first + count; i++)
        {
            items.Add(project(ordered[i]));
        }

        return new Page<TOut>(items, end - start > count);
    }

    private static int IndexOf<TItem>(IReadOnlyList<TItem> items, Func<TItem, string> id, string cursor, string param)
    {
        for (int i = 0; i < items.Count; i++)
        {
            if (string.Equals(id(items[i]), cursor, StringComparison.Ordinal))
            {
                return i;
            }
        }

        throw ServiceException.Invalid($"Invalid '{param}': no object with id '{cursor}' in this list.", param);
    }
}
