using System.ComponentModel;
using System.Globalization;

namespace AgentJobs.Tools;

/// <summary>The function tools that ship with AgentFunctions.</summary>
public static class BuiltInTools
{
    /// <summary>Name of the clock tool.</summary>
    public const string UtcNowName = "get_utc_now";

    /// <summary>Description of the clock tool.</summary>
    public const string UtcNowDescription = "Returns the current date and time in UTC (ISO 8601) and the day of the week.";

    /// <summary>Name of the arithmetic tool.</summary>
    public const string CalculateName = "calculate";

    /// <summary>Description of the arithmetic tool.</summary>
    public const string CalculateDescription =
        "Evaluates an arithmetic expression exactly: numbers, + - * / % ^, parentheses. Use it instead of doing arithmetic yourself.";

    /// <summary>The current UTC time; models cannot know it.</summary>
    public static UtcNowResult GetUtcNow(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        var now = time.GetUtcNow();
        return new UtcNowResult(now.ToString("O", CultureInfo.InvariantCulture), now.DayOfWeek.ToString());
    }

    /// <summary>Evaluates an arithmetic expression; models are unreliable at arithmetic.</summary>
    public static CalculationResult Calculate([Description("The expression, e.g. (2 + 3) * 4 ^ 2 / 7")] string expression) =>
        new(expression, ArithmeticEvaluator.Evaluate(expression));

    /// <summary>The clock tool's output.</summary>
    /// <param name="UtcNow">ISO 8601 UTC timestamp.</param>
    /// <param name="DayOfWeek">Day of the week.</param>
    public sealed record UtcNowResult(string UtcNow, string DayOfWeek);

    /// <summary>The arithmetic tool's output.</summary>
    /// <param name="Expression">The expression evaluated.</param>
    /// <param name="Value">Its value.</param>
    public sealed record CalculationResult(string Expression, decimal Value);
}
