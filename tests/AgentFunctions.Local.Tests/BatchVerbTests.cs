using System.Text.Json;
using AgentFunctions.Local.Tests.Support;

namespace AgentFunctions.Local.Tests;

/// <summary><c>run --batch</c> as a process: every line a job, the summary, and the exit codes.</summary>
public class BatchVerbTests
{
    [Fact]
    public async Task Run_batch_runs_every_non_blank_line_and_prints_each_result()
    {
        var file = Path.Combine(Path.GetTempPath(), $"prompts-{Guid.NewGuid():N}.txt");
        await File.WriteAllLinesAsync(file, ["Hello, tell me a joke", "", "What is 17 * 23?", "Hello again"], TestContext.Current.CancellationToken);
        try
        {
            var output = await LocalCli.RunAsync(TimeSpan.FromSeconds(90), null, "run", "--batch", file, "--tool", "calculate", "--max-parallel", "2", "--json");

            Assert.True(output.ExitCode == 0, $"exit {output.ExitCode}; stderr: {output.StdErr}; stdout: {output.StdOut}");
            using var json = JsonDocument.Parse(output.StdOut);
            Assert.Equal(3, json.RootElement.GetProperty("progress").GetProperty("outcomes").GetProperty("Completed").GetInt32());
            var items = json.RootElement.GetProperty("items").EnumerateArray().ToList();
            Assert.Equal(3, items.Count);
            Assert.Contains("391", items[1].GetProperty("reply").GetString(), StringComparison.Ordinal);
            Assert.All(items, i => Assert.True(i.GetProperty("agentDeleted").GetBoolean()));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Run_without_a_prompt_or_batch_and_with_a_missing_file_exit_2()
    {
        var none = await LocalCli.RunAsync(TimeSpan.FromSeconds(60), null, "run");
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("--batch", none.StdErr, StringComparison.Ordinal);

        var missing = await LocalCli.RunAsync(TimeSpan.FromSeconds(60), null, "run", "--batch", "/no/such/prompts.txt");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("does not exist", missing.StdErr, StringComparison.Ordinal);
    }
}
