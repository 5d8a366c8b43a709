using AgentJobs.Contracts;
using NetArchTest.Rules;

namespace AgentJobs.Tests;

/// <summary>
/// The layers of src/AgentJobs point one way: Contracts ← Workflow ← Application ← Http. Read from the assembly's IL
/// (signatures and method bodies), so a call that runs the wrong way fails here, not in review.
/// </summary>
public class LayerDependencyTests
{
    const string Contracts = "AgentJobs.Contracts";
    const string Workflow = "AgentJobs.Workflow";
    const string Application = "AgentJobs.Application";
    const string Http = "AgentJobs.Http";

    /// <summary>Each layer and the layers above it, which it must not use.</summary>
    public static TheoryData<string, string[]> Rules => new()
    {
        { Contracts, [Workflow, Application, Http] },
        { Workflow, [Application, Http] },
        { Application, [Http] },

        // Sessions keeps its HTTP handler in Http and its callers' half (SessionRequests, AgentSessionsClient) in
        // Application, so the feature itself is durable code only, at Workflow's level. (Batches, Retention and Mcp
        // still hold their own handlers, and Workflow's AgentJobTasks registers the features' tasks: not yet ruled.)
        { "AgentJobs.Sessions", [Application, Http] },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void A_layer_does_not_use_the_layers_above_it(string layer, string[] above)
    {
        var result = Types.InAssembly(typeof(AgentJobRequest).Assembly)
            .That().ResideInNamespace(layer)
            .ShouldNot().HaveDependencyOnAny(above)
            .GetResult();

        Assert.True(result.IsSuccessful, $"{layer} uses {string.Join(" or ", above)}: {string.Join(", ", result.FailingTypes?.Select(t => t.FullName + (t.Explanation is { Length: > 0 } why ? $" ({why})" : "")) ?? [])}");
    }
}
