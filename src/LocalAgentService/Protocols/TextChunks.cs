namespace LocalAgentService.Protocols;

/// <summary>Cuts an answer into the deltas a stream sends: word-aligned pieces that join back to the exact text.</summary>
internal static class TextChunks
{
    /// <summary>About <paramref name="pieces"/> pieces (fewer for short text); none for empty text.</summary>
    public static IReadOnlyList<string> Split(string text, int pieces = 8)
    {
        var result = new List<string>();
        int target = Math.Max(8, (text.Length + pieces - 1) / pieces);
        int start = 0;
        while (start < text.Length)
        {
            int end = Math.Min(text.Length, start + target);
            if (end < text.Length)
            {
                int space = text.IndexOf(' ', end);
                end = space < 0 ? text.Length : space + 1;
            }

            result.Add(text[start..end]);
            start = end;
        }

        return result;
    }
}
