using LocalAgentService.Storage;

namespace LocalAgentService.Engine;

/// <summary>
/// The service, not the model, owns tool-call ids (as the Assistants and Responses services do): whatever a model
/// returns — the same id twice, an empty id, an id already used earlier in the context — the calls handed to the
/// client carry unique, non-empty ids, so each submitted output maps back to exactly one call.
/// </summary>
internal static class ToolCallIds
{
    /// <summary>
    /// The calls with ids made unique: a model's id is kept when it is non-empty and not used before (in
    /// <paramref name="taken"/> or by an earlier call of this batch); otherwise a fresh <c>call_…</c> id replaces it.
    /// </summary>
    public static IReadOnlyList<ModelToolCall> MakeUnique(IReadOnlyList<ModelToolCall> calls, IEnumerable<string> taken)
    {
        if (calls.Count == 0)
        {
            return calls;
        }

        var used = new HashSet<string>(taken, StringComparer.Ordinal);
        var result = new List<ModelToolCall>(calls.Count);
        foreach (var call in calls)
        {
            string id = call.Id;
            if (string.IsNullOrWhiteSpace(id) || !used.Add(id))
            {
                do
                {
                    id = Ids.New(Ids.Call);
                }
                while (!used.Add(id));
            }

            result.Add(id == call.Id ? call : call with { Id = id });
        }

        return result;
    }
}
