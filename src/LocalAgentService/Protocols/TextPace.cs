using System.Diagnostics;

namespace LocalAgentService.Protocols;

/// <summary>
/// How a stream spells the simulated model's text (<see cref="SimulationOptions.TokensPerSecond"/>,
/// <see cref="SimulationOptions.FirstTokenMs"/>): unpaced (the default, fast for tests), about eight pieces at once;
/// paced, one piece per word (a token, near enough) at the configured rate after the first-token delay, so live text
/// can be seen and measured.
/// </summary>
internal static class TextPace
{
    /// <summary>Whether the stream spells text over time.</summary>
    public static bool IsPaced(SimulationOptions? simulation) => simulation is { } s && (s.TokensPerSecond > 0 || s.FirstTokenMs > 0);

    /// <summary>The pieces the stream sends: words (each with the spaces after it) when paced, about eight pieces otherwise.</summary>
    public static IReadOnlyList<string> Pieces(string text, SimulationOptions? simulation)
    {
        if (!IsPaced(simulation))
        {
            return TextChunks.Split(text);
        }

        var words = new List<string>();
        var start = 0;
        while (start < text.Length)
        {
            var end = start;
            while (end < text.Length && !char.IsWhiteSpace(text[end]))
            {
                end++;
            }

            while (end < text.Length && char.IsWhiteSpace(text[end]))
            {
                end++;
            }

            words.Add(text[start..end]);
            start = end;
        }

        return words;
    }

    /// <summary>Sends each piece when it is due: the first after the first-token delay, then one per 1/rate seconds.</summary>
    public static async Task PlayAsync(IReadOnlyList<string> pieces, SimulationOptions simulation, Action<string> send)
    {
        var started = Stopwatch.GetTimestamp();
        var perToken = simulation.TokensPerSecond > 0 ? 1000.0 / simulation.TokensPerSecond : 0;
        for (var i = 0; i < pieces.Count; i++)
        {
            var due = TimeSpan.FromMilliseconds(simulation.FirstTokenMs + (i * perToken));
            var wait = due - Stopwatch.GetElapsedTime(started);
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait).ConfigureAwait(false);
            }

            send(pieces[i]);
        }
    }
}
