using System.Diagnostics;
using OpenAI.Assistants;
using OpenAI.Responses;

namespace LocalAgentService.Tests;

/// <summary>
/// The simulated model's streaming pace (<see cref="SimulationOptions.TokensPerSecond"/>, <see cref="SimulationOptions.FirstTokenMs"/>):
/// paced, a stream spells the answer a word at a time over time, and ends after its last word; the default sends it at once.
/// </summary>
public sealed class StreamingPaceTests
{
    const int Words = 20;
    const double TokensPerSecond = 40; // 20 words: the last is due 475 ms after the first

    [Fact]
    public async Task A_paced_classic_stream_spells_the_answer_a_word_at_a_time_over_time_and_completes_after_it()
    {
        await using var server = await Support.StartFastAsync(o => { o.Simulation.TokensPerSecond = TokensPerSecond; o.Simulation.FirstTokenMs = 50; });
        var client = Support.Client(server, Shape.OpenAI);
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini")).Value;
        var thread = (await client.CreateThreadAsync()).Value;
        await client.CreateMessageAsync(thread.Id, OpenAI.Assistants.MessageRole.User, [MessageContent.FromText($"Please write {Words} words")]);

        var arrivals = new List<(TimeSpan At, string Text)>();
        var clock = Stopwatch.StartNew();
        var completedAt = TimeSpan.Zero;
        await foreach (var update in await client.CreateRunStreamingAsync(thread.Id, agent.Id))
        {
            if (update is MessageContentUpdate { Text: { Length: > 0 } text })
            {
                arrivals.Add((clock.Elapsed, text));
            }
            else if (update is RunUpdate { UpdateKind: StreamingUpdateReason.RunCompleted })
            {
                completedAt = clock.Elapsed;
            }
        }

        AssertPaced(arrivals);
        Assert.True(completedAt >= arrivals[^1].At, "the run completes after its last word");
    }

    [Fact]
    public async Task A_paced_response_stream_spells_the_answer_a_word_at_a_time_over_time()
    {
        await using var server = await Support.StartFastAsync(o => { o.Simulation.TokensPerSecond = TokensPerSecond; o.Simulation.FirstTokenMs = 50; });
        await FoundrySupport.CreateAgentAsync(server, "pacer", "gpt-4o-mini", "[]");
        var client = FoundrySupport.Responses(server);
        var options = FoundrySupport.AgentOptions("pacer", ResponseItem.CreateUserMessageItem($"Please write {Words} words"));
        options.StreamingEnabled = true;

        var arrivals = new List<(TimeSpan At, string Text)>();
        var clock = Stopwatch.StartNew();
        var completedAt = TimeSpan.Zero;
        await foreach (var update in await client.CreateResponseStreamingAsync(options))
        {
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                arrivals.Add((clock.Elapsed, delta.Delta));
            }
            else if (update is StreamingResponseCompletedUpdate)
            {
                completedAt = clock.Elapsed;
            }
        }

        AssertPaced(arrivals);
        Assert.True(completedAt >= arrivals[^1].At, "the response completes after its last word");
    }

    [Fact]
    public async Task Unpaced_by_default_the_answer_arrives_in_a_few_pieces()
    {
        await using var server = await Support.StartFastAsync();
        var client = Support.Client(server, Shape.OpenAI);
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini")).Value;
        var thread = (await client.CreateThreadAsync()).Value;
        await client.CreateMessageAsync(thread.Id, OpenAI.Assistants.MessageRole.User, [MessageContent.FromText($"Please write {Words} words")]);
        var pieces = 0;
        await foreach (var update in await client.CreateRunStreamingAsync(thread.Id, agent.Id))
        {
            pieces += update is MessageContentUpdate { Text.Length: > 0 } ? 1 : 0;
        }

        Assert.InRange(pieces, 1, 10);
    }

    /// <summary>One piece per word (plus the label), and spread over at least most of the time the pace asks for (a lower bound only: a slow machine only spreads them more).</summary>
    static void AssertPaced(List<(TimeSpan At, string Text)> arrivals)
    {
        var text = string.Concat(arrivals.Select(a => a.Text));
        Assert.Equal(Words, text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length - 2); // "[simulated gpt-4o-mini]" is two words
        Assert.Equal(Words + 2, arrivals.Count);
        var spread = arrivals[^1].At - arrivals[0].At;
        Assert.True(spread >= TimeSpan.FromMilliseconds((Words + 1) * 1000 / TokensPerSecond * 0.8), $"the words arrived within {spread.TotalMilliseconds:0} ms");
    }
}
