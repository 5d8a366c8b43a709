using System.Text.Json;
using AgentJobs.Application;
using AgentJobs.Batches;
using AgentJobs.Contracts;

namespace AgentJobs.Tests;

/// <summary>
/// The batch body is flat (job fields beside <c>prompts</c> and <c>maxParallel</c>) though the request holds one
/// template job request: these pin the wire shape and the reader's problems as they were before that change.
/// </summary>
public class BatchRequestWireTests
{
    const string FullBody =
        """{"prompts":["a","b"],"instructions":"be brief","model":"m1","agentName":"n","tools":["get_weather"],"threadId":"thread_1","deleteThread":true,"maxDurationSeconds":30,"polling":{"initialDelayMs":100,"maxDelayMs":200,"backoffFactor":2,"pollsPerGeneration":7,"streamWindowSeconds":3},"cancelGraceSeconds":9,"maxParallel":1,"maxToolRounds":4,"maxTotalTokens":5000,"approval":{"tools":["get_weather"],"timeoutSeconds":60}}""";

    /// <summary>Today's full body reads into the shared settings and writes back byte for byte.</summary>
    [Fact]
    public void Full_flat_body_reads_into_the_template_and_writes_the_same_json()
    {
        var (batch, problem) = AgentJobRequestValidator.ReadJson<AgentBatchRequest>(System.Text.Encoding.UTF8.GetBytes(FullBody));

        Assert.Null(problem);
        Assert.NotNull(batch);
        Assert.Equal(["a", "b"], batch.Prompts);
        Assert.Equal(1, batch.MaxParallel);
        var item = batch.Item("p");
        Assert.Equal("p", item.Prompt);
        Assert.Equal(("be brief", "m1", "n", "thread_1", true), (item.Instructions, item.Model, item.AgentName, item.ThreadId, item.DeleteThread));
        Assert.Equal(["get_weather"], item.Tools);
        Assert.Equal((30, 9, 4, 5000L), (item.MaxDurationSeconds, item.CancelGraceSeconds, item.MaxToolRounds, item.MaxTotalTokens));
        Assert.Equal(new PollingSettings(100, 200, 2, 7, 3), item.Polling);
        Assert.NotNull(item.Approval);
        Assert.Equal(["get_weather"], item.Approval.Tools);
        Assert.Equal(60, item.Approval.TimeoutSeconds);

        var written = JsonSerializer.Serialize(batch, AgentJobRequestValidator.JsonOptions);
        Assert.Equal(
            """{"prompts":["a","b"],"instructions":"be brief","model":"m1","agentName":"n","tools":["get_weather"],"threadId":"thread_1","deleteThread":true,"maxDurationSeconds":30,"polling":{"initialDelayMs":100,"maxDelayMs":200,"backoffFactor":2,"pollsPerGeneration":7,"streamWindowSeconds":3},"cancelGraceSeconds":9,"maxParallel":1,"maxToolRounds":4,"maxTotalTokens":5000,"approval":{"tools":["get_weather"],"timeoutSeconds":60,"onTimeout":null}}""",
            written);
    }

    /// <summary>A body of prompts alone leaves every shared setting unset.</summary>
    [Fact]
    public void Prompts_alone_leave_the_template_empty()
    {
        var (batch, problem) = AgentJobRequestValidator.ReadJson<AgentBatchRequest>("""{"prompts":["a"]}"""u8);

        Assert.Null(problem);
        Assert.NotNull(batch);
        Assert.Null(batch.MaxParallel);
        Assert.Equal(new AgentJobRequest("a"), batch.Item("a"));
    }

    /// <summary>Problems name the same field with the same words as before.</summary>
    [Theory]
    [InlineData("""{"prompts":["a"],"maxToolRounds":"3"}""", "maxToolRounds", """'maxToolRounds' must be a whole number; got "3".""")]
    [InlineData("""{"prompts":["a"],"maxParallel":"2"}""", "maxParallel", """'maxParallel' must be a whole number; got "2".""")]
    [InlineData("""{"prompts":["a"],"tools":[1]}""", "tools[0]", """'tools[0]' must be a string; got 1.""")]
    [InlineData("""{"prompts":["a"],"polling":{"initialDelayMs":true}}""", "polling.initialDelayMs", """'polling.initialDelayMs' must be a whole number; got true.""")]
    [InlineData("""{"prompts":["a"],"polling":{"nope":1}}""", "polling.nope", """The request body is not valid for this API: The JSON property 'nope' could not be mapped to any .NET member contained in type 'AgentJobs.Contracts.PollingSettings'.""")]
    [InlineData("""{"prompts":["a"],"template":{}}""", "template", """The request body is not valid for this API: The JSON property 'template' could not be mapped to any .NET member contained in type 'AgentJobs.Batches.AgentBatchRequest'.""")]
    [InlineData("""{"prompts":["a"],"prompt":"typo"}""", "prompt", """The request body is not valid for this API: The JSON property 'prompt' could not be mapped to any .NET member contained in type 'AgentJobs.Batches.AgentBatchRequest'.""")]
    [InlineData("""{"prompts":["a"],"model":"x","Model":"y"}""", "model", """'model' is given more than once (as 'model' and 'Model'); names are matched ignoring case, so send each field once.""")]
    [InlineData("""{"prompts":["a"],"deleteThread":"yes"}""", "deleteThread", """'deleteThread' must be true or false; got "yes".""")]
    [InlineData("""{"prompts":[1]}""", "prompts[0]", """'prompts[0]' must be a string; got 1.""")]
    public void Reader_problems_are_unchanged(string body, string field, string message)
    {
        var (_, problem) = AgentJobRequestValidator.ReadJson<AgentBatchRequest>(System.Text.Encoding.UTF8.GetBytes(body));

        Assert.NotNull(problem);
        Assert.Equal((field, message), (problem.Field, problem.Message));
    }

    /// <summary>An in-flight batch's stored orchestration input, as main writes it today, still reads.</summary>
    [Fact]
    public void Stored_batch_input_of_today_still_reads()
    {
        const string stored =
            """{"template":{"prompt":"","instructions":"i","model":"m","agentName":"a","tools":[],"threadId":null,"deleteThread":false,"maxDurationSeconds":600,"polling":{"initialDelayMs":1000,"maxDelayMs":15000,"backoffFactor":1.5,"pollsPerGeneration":50,"streamWindowSeconds":5},"cancelGraceSeconds":60,"maxToolRounds":16,"maxTotalTokens":null,"approval":null},"prompts":["x","y"],"maxParallel":2,"nextIndex":1,"outcomes":{"Completed":1},"cancelReason":null,"generation":3}""";

        var work = JsonSerializer.Deserialize<AgentBatchWork>(stored, StoredJson.Options);

        Assert.NotNull(work);
        Assert.Equal(["x", "y"], work.Prompts);
        Assert.Equal((2, 1, 3), (work.MaxParallel, work.NextIndex, work.Generation));
        Assert.Equal(1, work.Outcomes?["Completed"]);
        Assert.True(work.Template.IsComplete);
        Assert.Equal(("m", "a", "i", 600, 60, 16), (work.Template.Model, work.Template.AgentName, work.Template.Instructions, work.Template.MaxDurationSeconds, work.Template.CancelGraceSeconds, work.Template.MaxToolRounds));
        Assert.Equal(new PollingSettings(StreamWindowSeconds: 5), work.Template.Polling);
        Assert.Equal(stored, JsonSerializer.Serialize(work, StoredJson.Options));
    }
}
