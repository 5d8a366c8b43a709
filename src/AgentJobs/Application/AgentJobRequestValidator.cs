using System.Text.Json;
using AgentJobs.Contracts;
using AgentJobs.Tools;

namespace AgentJobs.Application;

/// <summary>
/// Reads and validates a job request body. Every problem names the field (JSON path) so a caller can fix it;
/// nothing invalid reaches the orchestrator.
/// </summary>
public sealed class AgentJobRequestValidator(AgentJobsApiOptions options, AgentToolRegistry tools)
{
    /// <summary>
    /// JSON options of the public API: camelCase names matched ignoring case, strict about unknown fields so typos
    /// are caught, about numbers sent as strings, and about a field given twice (which would otherwise silently keep the last value).
    /// </summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,

        // The web defaults read "30" as 30; a number must be a JSON number here.
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,
        AllowTrailingCommas = false,
        AllowDuplicateProperties = false,

        // A batch body carries a job request's fields flat beside its own.
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver { Modifiers = { Batches.AgentBatchRequest.FlattenTemplate } },
    };

    /// <summary>
    /// Reads a JSON body as <typeparamref name="T"/>: the value, or the field (JSON path) and message of the first
    /// problem — a field given twice (names compared ignoring case, at any depth), text that is not valid Unicode,
    /// malformed JSON, an unknown field or a value of the wrong type. Says nothing about the values' own rules.
    /// </summary>
    public static (T? Value, ValidationProblem? Problem) ReadJson<T>(ReadOnlySpan<byte> body)
        where T : class
    {
        if (JsonBodyScan.FindProblem(body, JsonOptions.GetTypeInfo(typeof(T))) is { } problem)
        {
            return (null, problem);
        }

        try
        {
            return (JsonSerializer.Deserialize<T>(body, JsonOptions), null);
        }
        catch (JsonException ex)
        {
            var field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "body" : ex.Path.TrimStart('$', '.');
            return (null, new(field, field != "body" && Expected(typeof(T), field) is { } expected
                ? $"'{field}' must be {expected}; got {Actual(body, field)}."
                : $"The request body is not valid for this API: {FirstSentence(ex.Message)}"));
        }
    }

    /// <summary>What the API's contract takes at <paramref name="path"/> (<c>polling.initialDelayMs</c>, <c>tools[1]</c>), in JSON words.</summary>
    static string? Expected(Type root, string path)
    {
        var type = root;
        foreach (var segment in path.Split('.'))
        {
            var name = segment;
            var indexes = 0;
            if (segment.IndexOf('[', StringComparison.Ordinal) is var bracket and > 0)
            {
                name = segment[..bracket];
                indexes = segment.Count(c => c == '[');
            }

            var property = JsonOptions.GetTypeInfo(type).Properties.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
            if (property is null)
            {
                return null;
            }

            type = property.PropertyType;
            for (var i = 0; i < indexes; i++)
            {
                type = ElementType(type) ?? type;
            }
        }

        return Describe(type);
    }

    static Type? ElementType(Type type) =>
        type == typeof(string) ? null
        : type.IsArray ? type.GetElementType()
        : type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];

    static string Describe(Type type, bool plural = false)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        string Word(string one, string many) => plural ? many : one;
        return type switch
        {
            _ when type == typeof(string) => Word("a string", "strings"),
            _ when type == typeof(bool) => Word("true or false", "true or false values"),
            _ when type == typeof(int) || type == typeof(long) || type == typeof(short) => Word("a whole number", "whole numbers"),
            _ when type == typeof(double) || type == typeof(float) || type == typeof(decimal) => Word("a number", "numbers"),
            _ when type.IsEnum => Word("a string", "strings") + $" ({string.Join(", ", Enum.GetNames(type).Select(n => JsonNamingPolicy.CamelCase.ConvertName(n)))})",
            _ when ElementType(type) is { } element => Word("an array of ", "arrays of ") + Describe(element, plural: true),
            _ => Word("an object", "objects"),
        };
    }

    /// <summary>What the body holds at <paramref name="path"/>: a scalar as sent (cut at 40 characters), else its kind.</summary>
    static string Actual(ReadOnlySpan<byte> body, string path)
    {
        try
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(body);
            foreach (var segment in path.Split('.'))
            {
                var parts = segment.Split('[');
                node = node is System.Text.Json.Nodes.JsonObject o
                    ? o.FirstOrDefault(p => string.Equals(p.Key, parts[0], StringComparison.OrdinalIgnoreCase)).Value
                    : null;
                foreach (var index in parts.Skip(1))
                {
                    node = node is System.Text.Json.Nodes.JsonArray a && int.TryParse(index.TrimEnd(']'), out var i) && i < a.Count ? a[i] : null;
                }
            }

            return node?.GetValueKind() switch
            {
                JsonValueKind.Array => "an array",
                JsonValueKind.Object => "an object",
                null or JsonValueKind.Null => "null",
                _ => node.ToJsonString() is { Length: > 40 } long_ ? long_[..40] + "…" : node.ToJsonString(), // a scalar, as sent
            };
        }
        catch (JsonException)
        {
            return "something else";
        }
    }

    /// <summary>
    /// Whether an approval names a tool the job has: <c>*</c>; a tool of <paramref name="jobTools"/>; an MCP server's
    /// <c>server/tool</c> when the job takes <c>server/*</c>; or <c>server/*</c> when the job takes any of its tools.
    /// </summary>
    static bool OfTheJob(string held, IReadOnlyList<string> jobTools) =>
        held == ApprovalPolicy.AllTools
        || jobTools.Contains(held, StringComparer.Ordinal)
        || (Tools.Mcp.McpToolNames.TryParse(held, out var server, out var tool)
            && jobTools.Any(t => Tools.Mcp.McpToolNames.TryParse(t, out var jobServer, out var jobTool) && jobServer == server
                && (jobTool == Tools.Mcp.McpToolNames.AllTools || tool == Tools.Mcp.McpToolNames.AllTools)));

    /// <summary>
    /// An approval policy names tools of the job (or <c>*</c>), at least one, each once; waits between 1 s and a day.
    /// </summary>
    static ValidationProblem? ValidateApproval(ApprovalPolicy approval, IReadOnlyList<string> jobTools)
    {
        if (approval.Tools is not { Count: > 0 } held)
        {
            return new("approval.tools", "'approval.tools' must name at least one of the job's tools, or \"*\" for all of them.");
        }

        if (held.Any(string.IsNullOrWhiteSpace))
        {
            return new("approval.tools", "'approval.tools' holds an empty or null name; name tools of the job, or \"*\" for all of them.");
        }

        if (held.FirstOrDefault(t => !OfTheJob(t, jobTools)) is { } stranger)
        {
            return new("approval.tools", $"'approval.tools' names '{stranger}', which is not one of the job's tools ({(jobTools.Count == 0 ? "it has none" : string.Join(", ", jobTools))}).");
        }

        if (held.Distinct(StringComparer.Ordinal).Count() != held.Count)
        {
            return new("approval.tools", "'approval.tools' lists a tool more than once.");
        }

        return approval.TimeoutSeconds is { } timeout && timeout is < 1 or > 86_400
            ? new("approval.timeoutSeconds", $"'approval.timeoutSeconds' must be between 1 and 86400; got {timeout}.")
            : null;
    }

    /// <summary>Parses the body; returns the request, or the field and message of the first problem.</summary>
    public (AgentJobRequest? Request, ValidationProblem? Problem) Parse(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            return (null, new("body", "The request body is empty; send a JSON object with at least a 'prompt'."));
        }

        var (request, readProblem) = ReadJson<AgentJobRequest>(body);
        if (readProblem is not null)
        {
            return (null, readProblem);
        }

        if (request is null)
        {
            return (null, new("body", "The request body must be a JSON object, not null."));
        }

        var problem = Validate(request);
        return problem is null ? (request, null) : (null, problem);
    }

    /// <summary>Checks the rules that JSON alone cannot.</summary>
    public ValidationProblem? Validate(AgentJobRequest request) => Check(request, withPrompt: true);

    /// <summary>
    /// Checks every rule but the prompt's: the shared settings of a session or a batch, whose prompts come later (each
    /// checked with <see cref="Validate"/>). The request's prompt is ignored.
    /// </summary>
    public ValidationProblem? ValidateTemplate(AgentJobRequest request) => Check(request, withPrompt: false);

    // One pass in one order, so a request with several problems names the same one whichever way it is checked.
    ValidationProblem? Check(AgentJobRequest request, bool withPrompt)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (withPrompt && string.IsNullOrEmpty(request.Prompt))
        {
            return new("prompt", "'prompt' is required and must not be empty.");
        }

        // Free text must be well-formed and visible; identifiers too, when given. Empty instructions mean "none".
        var text = (withPrompt ? TextRules.Check("prompt", request.Prompt) : null)
                   ?? (request.Instructions is { } i ? TextRules.Check("instructions", i, allowEmpty: true) : null)
                   ?? (request.Model is { } m ? TextRules.Check("model", m) : null)
                   ?? (request.AgentName is { } a ? TextRules.Check("agentName", a) : null)
                   ?? (request.ThreadId is { } t ? TextRules.Check("threadId", t) : null);
        if (text is not null)
        {
            return text;
        }

        if (withPrompt && request.Prompt.Length > options.MaxPromptLength)
        {
            return new("prompt", $"'prompt' has {request.Prompt.Length} characters; the limit is {options.MaxPromptLength}.");
        }

        if (request.Instructions is { } instructions && instructions.Length > options.MaxInstructionsLength)
        {
            return new("instructions", $"'instructions' has {instructions.Length} characters; the limit is {options.MaxInstructionsLength}.");
        }

        if (request.Model is not null && request.Model.Length > 256)
        {
            return new("model", "'model' must be a non-empty deployment name of at most 256 characters.");
        }

        if (request.AgentName is not null && request.AgentName.Length > 256)
        {
            return new("agentName", "'agentName' must be non-empty and at most 256 characters.");
        }

        if (request.ThreadId is not null && request.ThreadId.Length > 256)
        {
            return new("threadId", "'threadId' must be a non-empty thread id of at most 256 characters.");
        }

        if (request.ThreadId is not null && request.DeleteThread)
        {
            return new("deleteThread", "'deleteThread' cannot be true with 'threadId': a thread the caller supplied is never deleted.");
        }

        if (request.Tools is { } names)
        {
            foreach (var name in names)
            {
                if ((TextRules.UnpairedSurrogateAt(name ?? "") >= 0 ? $"Tool name '{name}' is not valid Unicode text." : tools.FindProblem(name!)) is { } unknown)
                {
                    return new("tools", unknown);
                }
            }

            if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
            {
                return new("tools", "'tools' lists a tool more than once.");
            }
        }

        if (request.MaxDurationSeconds is { } max && (max < 1 || max > options.MaxDurationSecondsLimit))
        {
            return new("maxDurationSeconds", $"'maxDurationSeconds' must be between 1 and {options.MaxDurationSecondsLimit}; got {max}.");
        }

        if (request.MaxToolRounds is { } rounds && (rounds < 0 || rounds > options.MaxToolRoundsLimit))
        {
            return new("maxToolRounds", $"'maxToolRounds' must be between 0 and {options.MaxToolRoundsLimit}; got {rounds}.");
        }

        if (request.MaxTotalTokens is { } tokens && (tokens < 1 || tokens > (options.MaxTotalTokensLimit ?? long.MaxValue)))
        {
            return new("maxTotalTokens", options.MaxTotalTokensLimit is { } limit
                ? $"'maxTotalTokens' must be between 1 and {limit}; got {tokens}."
                : $"'maxTotalTokens' must be at least 1; got {tokens}.");
        }

        if (request.Approval is { } approval && ValidateApproval(approval, request.Tools ?? []) is { } approvalProblem)
        {
            return approvalProblem;
        }

        if (request.CancelGraceSeconds is { } grace && grace is < 1 or > 3600)
        {
            return new("cancelGraceSeconds", $"'cancelGraceSeconds' must be between 1 and 3600; got {grace}.");
        }

        if (request.Polling is { } p)
        {
            if (p.InitialDelayMs is < 10 or > 600_000)
            {
                return new("polling.initialDelayMs", $"'polling.initialDelayMs' must be between 10 and 600000; got {p.InitialDelayMs}.");
            }

            if (p.MaxDelayMs < p.InitialDelayMs || p.MaxDelayMs > 3_600_000)
            {
                return new("polling.maxDelayMs", $"'polling.maxDelayMs' must be between initialDelayMs ({p.InitialDelayMs}) and 3600000; got {p.MaxDelayMs}.");
            }

            if (double.IsNaN(p.BackoffFactor) || p.BackoffFactor < 1 || p.BackoffFactor > 10)
            {
                return new("polling.backoffFactor", $"'polling.backoffFactor' must be between 1 and 10; got {p.BackoffFactor}.");
            }

            if (p.PollsPerGeneration is < 1 or > 10_000)
            {
                return new("polling.pollsPerGeneration", $"'polling.pollsPerGeneration' must be between 1 and 10000; got {p.PollsPerGeneration}.");
            }

            if (p.StreamWindowSeconds is < 0 or > PollingSettings.MaxStreamWindowSeconds)
            {
                return new("polling.streamWindowSeconds", $"'polling.streamWindowSeconds' must be between 0 and {PollingSettings.MaxStreamWindowSeconds}; got {p.StreamWindowSeconds}.");
            }
        }

        return null;
    }

    static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..(cut + 1)] : message;
    }
}

/// <summary>A validation problem: the field at fault and what is wrong with it.</summary>
/// <param name="Field">The field (JSON path), or "body".</param>
/// <param name="Message">What is wrong.</param>
public sealed record ValidationProblem(string Field, string Message);
