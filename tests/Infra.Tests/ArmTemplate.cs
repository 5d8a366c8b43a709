using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Infra.Tests;

/// <summary>A nested deployment (a Bicep module) in the compiled subscription-scope template.</summary>
internal sealed record ModuleDeployment(string Name, JsonObject Deployment)
{
    public JsonObject Template => Deployment["properties"]!["template"]!.AsObject();

    public string? Condition => (string?)Deployment["condition"];

    public IEnumerable<JsonObject> Resources => ArmTemplate.ResourcesOf(Template);

    public IEnumerable<JsonObject> OfType(string type) =>
        Resources.Where(r => string.Equals((string?)r["type"], type, StringComparison.OrdinalIgnoreCase));

    public JsonObject Single(string type)
    {
        var matches = OfType(type).ToList();
        Assert.True(matches.Count == 1, $"module '{Name}' should declare exactly one {type}, found {matches.Count}");
        return matches[0];
    }

    /// <summary>The raw value the parent passes for a module parameter (the "value" of a literal, or the whole expression).</summary>
    public string ParameterExpression(string parameter)
    {
        var node = Deployment["properties"]!["parameters"]![parameter];
        Assert.True(node is not null, $"module '{Name}' is not passed parameter '{parameter}'");
        var value = node is JsonObject obj && obj.ContainsKey("value") ? obj["value"] : node;
        return ArmTemplate.Raw(value);
    }

    /// <summary>
    /// Replaces variables('x') with the variable's literal value when the variable is a plain string,
    /// so role definition ids written as vars read as their GUIDs.
    /// </summary>
    public string ResolveStringVariables(string expression)
    {
        var variables = Template["variables"] as JsonObject;
        return Regex.Replace(expression, @"variables\('([^']+)'\)", match =>
        {
            var value = variables?[match.Groups[1].Value];
            return value is JsonValue v && v.TryGetValue<string>(out var s) && !s.StartsWith('[')
                ? $"'{s}'"
                : match.Value;
        });
    }
}

/// <summary>Read-only helpers over the ARM JSON that `bicep build` emits.</summary>
internal sealed class ArmTemplate
{
    public ArmTemplate(JsonObject root)
    {
        Root = root;
        Modules = ResourcesOf(root)
            .Where(r => (string?)r["type"] == "Microsoft.Resources/deployments")
            .Select(r => new ModuleDeployment((string)r["name"]!, r))
            .ToList();
    }

    public JsonObject Root { get; }

    public IReadOnlyList<ModuleDeployment> Modules { get; }

    public string Text => Raw(Root);

    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A string node as its text; anything else as JSON without \u escapes (so ' stays ').</summary>
    public static string Raw(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text : node?.ToJsonString(Readable) ?? "null";

    public ModuleDeployment Module(string name)
    {
        var module = Modules.SingleOrDefault(m => m.Name == name);
        Assert.True(module is not null, $"main.bicep should deploy module '{name}'; found: {string.Join(", ", Modules.Select(m => m.Name))}");
        return module!;
    }

    /// <summary>The module that declares a resource of the given type (exactly one must).</summary>
    public ModuleDeployment ModuleDeclaring(string type)
    {
        var modules = Modules.Where(m => m.OfType(type).Any()).ToList();
        Assert.True(modules.Count == 1, $"exactly one module should declare {type}, found {modules.Count}");
        return modules[0];
    }

    public JsonObject Parameter(string name)
    {
        var parameter = Root["parameters"]?[name] as JsonObject;
        Assert.True(parameter is not null, $"main.bicep should declare parameter '{name}'");
        return parameter!;
    }

    public static IEnumerable<JsonObject> ResourcesOf(JsonObject template) => template["resources"] switch
    {
        JsonArray array => array.OfType<JsonObject>(),
        JsonObject symbolic => symbolic.Select(p => p.Value).OfType<JsonObject>(),
        _ => [],
    };

    /// <summary>Strips the [ ] that mark an ARM expression.</summary>
    public static string Inner(string expression) =>
        expression.StartsWith('[') && expression.EndsWith(']') ? expression[1..^1] : expression;
}
