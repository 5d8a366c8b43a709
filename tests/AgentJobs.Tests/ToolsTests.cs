using System.ComponentModel;
using System.Text.Json;
using AgentJobs.AgentService;
using AgentJobs.Tools;
using Microsoft.Extensions.DependencyInjection;

namespace AgentJobs.Tests;

/// <summary>The arithmetic evaluator and the tool registry, directly.</summary>
public class ToolsTests
{
    [Theory]
    [InlineData("2 + 3 * 4", "14")]
    [InlineData("(2 + 3) * 4", "20")]
    [InlineData("10 - 4 - 3", "3")]
    [InlineData("2 * 3 ^ 2", "18")]
    [InlineData("2 ^ 3 ^ 2", "512")]
    [InlineData("-(2 + 3)", "-5")]
    [InlineData("--2", "2")]
    [InlineData("2 * -3", "-6")]
    [InlineData("+4", "4")]
    [InlineData("10 / 4", "2.5")]
    [InlineData("7 % 3", "1")]
    [InlineData("2 ^ -2", "0.25")]
    [InlineData("0.1 + 0.2", "0.3")]
    [InlineData("((((1))))", "1")]
    [InlineData("  6*7  ", "42")]
    public void Evaluates_with_precedence_unary_minus_parentheses_and_power(string expression, string expected)
    {
        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), ArithmeticEvaluator.Evaluate(expression));
    }

    [Theory]
    [InlineData("1 / 0")]
    [InlineData("5 % (2 - 2)")]
    [InlineData("0 ^ -1")]
    public void Division_by_zero_is_reported(string expression)
    {
        Assert.Throws<DivideByZeroException>(() => ArithmeticEvaluator.Evaluate(expression));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("2 +")]
    [InlineData("(1 + 2")]
    [InlineData("1 + 2)")]
    [InlineData("2 3")]
    [InlineData("abs(2)")]
    [InlineData("1.2.3")]
    [InlineData("2 ^ 0.5")]
    [InlineData("System.IO.File.Delete('x')")]
    public void Malformed_expressions_are_refused(string expression)
    {
        Assert.Throws<FormatException>(() => ArithmeticEvaluator.Evaluate(expression));
    }

    [Fact]
    public void Too_long_and_too_deep_expressions_are_refused()
    {
        var tooLong = Assert.Throws<FormatException>(() => ArithmeticEvaluator.Evaluate(string.Join("+", Enumerable.Repeat("1", 501))));
        Assert.Contains("longer", tooLong.Message, StringComparison.Ordinal);

        var tooDeep = Assert.Throws<FormatException>(() => ArithmeticEvaluator.Evaluate(new string('(', 100) + "1" + new string(')', 100)));
        Assert.Contains("deeper", tooDeep.Message, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => ArithmeticEvaluator.Evaluate(new string('-', 100) + "1"));

        Assert.Equal(1, ArithmeticEvaluator.Evaluate(new string('(', 60) + "1" + new string(')', 60)));
    }

    [Fact]
    public void Overflow_is_reported()
    {
        Assert.Throws<OverflowException>(() => ArithmeticEvaluator.Evaluate("10 ^ 1000"));
    }

    static AgentToolRegistry Registry(Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FixedTime(new DateTimeOffset(2026, 11, 25, 9, 30, 0, TimeSpan.Zero)));
        services.AddBuiltInAgentTools();
        configure?.Invoke(services);
        return services.BuildServiceProvider().GetRequiredService<AgentToolRegistry>();
    }

    static Task<ToolOutput> InvokeAsync(AgentToolRegistry registry, string name, string arguments) =>
        registry.InvokeAsync(new ToolCallRequest("call_1", name, arguments), TestContext.Current.CancellationToken);

    static string ErrorOf(ToolOutput output)
    {
        Assert.True(output.IsError);
        using var json = JsonDocument.Parse(output.Output);
        return json.RootElement.GetProperty("error").GetString()!;
    }

    [Fact]
    public void The_schema_comes_from_the_method_signature()
    {
        var registry = Registry(s => s.AddAgentTool("greet", "Greets someone.", ([Description("Who to greet")] string name, int times) => string.Concat(Enumerable.Repeat($"hi {name} ", times))));

        var spec = registry.GetSpec("greet");

        Assert.Equal("Greets someone.", spec.Description);
        using var schema = JsonDocument.Parse(spec.ParametersSchema);
        var properties = schema.RootElement.GetProperty("properties");
        Assert.Equal("string", properties.GetProperty("name").GetProperty("type").GetString());
        Assert.Equal("Who to greet", properties.GetProperty("name").GetProperty("description").GetString());
        Assert.Equal("integer", properties.GetProperty("times").GetProperty("type").GetString());
        Assert.Equal([BuiltInTools.CalculateName, BuiltInTools.UtcNowName, "greet"], registry.Names);
        Assert.Contains("expression", registry.GetSpec(BuiltInTools.CalculateName).ParametersSchema, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tool_runs_with_its_json_arguments()
    {
        var output = await InvokeAsync(Registry(), BuiltInTools.CalculateName, """{"expression":"(2 + 3) * 4"}""");

        Assert.False(output.IsError);
        Assert.Equal("call_1", output.ToolCallId);
        using var json = JsonDocument.Parse(output.Output);
        Assert.Equal(20, json.RootElement.EnumerateObject().Single(p => p.Name.Equals("value", StringComparison.OrdinalIgnoreCase)).Value.GetDecimal());
    }

    [Fact]
    public async Task The_clock_tool_reads_the_time_provider()
    {
        var output = await InvokeAsync(Registry(), BuiltInTools.UtcNowName, "");

        Assert.False(output.IsError);
        Assert.Contains("2026-11-25T09:30:00", output.Output, StringComparison.Ordinal);
        Assert.Contains("Wednesday", output.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_tool_is_an_error_output_listing_the_available_ones()
    {
        var error = ErrorOf(await InvokeAsync(Registry(), "rm_rf", "{}"));

        Assert.Contains("rm_rf", error, StringComparison.Ordinal);
        Assert.Contains(BuiltInTools.CalculateName, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1, 2]")]
    public async Task Arguments_that_are_not_a_json_object_are_an_error_output(string arguments)
    {
        Assert.Contains("JSON object", ErrorOf(await InvokeAsync(Registry(), BuiltInTools.CalculateName, arguments)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_throwing_tool_is_an_error_output_with_its_message()
    {
        Assert.Contains("Division by zero", ErrorOf(await InvokeAsync(Registry(), BuiltInTools.CalculateName, """{"expression":"1/0"}""")), StringComparison.Ordinal);

        var registry = Registry(s => s.AddAgentTool("explode", "Fails.", string () => throw new InvalidOperationException("kaboom")));
        Assert.Contains("kaboom", ErrorOf(await InvokeAsync(registry, "explode", "{}")), StringComparison.Ordinal);
    }

    [Fact]
    public void Two_tools_with_one_name_are_refused()
    {
        Assert.Throws<InvalidOperationException>(() => Registry(s => s.AddAgentTool(BuiltInTools.CalculateName, "Another.", () => 1)));
    }

    sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
