using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Infra.Tests;

/// <summary>
/// The Function App's application settings as name → ARM value expression. The template writes them as
/// union(variables('a'), variables('b')): object variables contribute their keys, conditional ones
/// (if(..., createObject(), createObject('NAME', value))) contribute the names they can create.
/// </summary>
internal static partial class AppSettings
{
    public static ModuleDeployment FunctionAppModule(ArmTemplate template) => template.ModuleDeclaring("Microsoft.Web/sites");

    public static IReadOnlyDictionary<string, string> Read(ModuleDeployment functionApp)
    {
        var configs = functionApp.OfType("Microsoft.Web/sites/config")
            .Where(c => ((string)c["name"]!).Contains("'appsettings'", StringComparison.Ordinal))
            .ToList();
        Assert.True(configs.Count == 1, $"the function app should have one appsettings config resource, found {configs.Count}");

        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        var properties = configs[0]["properties"]!;
        if (properties is JsonObject literal)
        {
            Add(settings, literal);
            return settings;
        }

        var expression = (string)properties!;
        var variables = functionApp.Template["variables"]!.AsObject();
        foreach (Match reference in VariableReference().Matches(expression))
        {
            switch (variables[reference.Groups[1].Value])
            {
                case JsonObject obj:
                    Add(settings, obj);
                    break;
                case JsonValue value when value.TryGetValue<string>(out var conditional):
                    foreach (Match created in CreateObjectEntry().Matches(conditional))
                    {
                        settings[created.Groups[1].Value] = conditional;
                    }

                    break;
            }
        }

        return settings;
    }

    private static void Add(Dictionary<string, string> settings, JsonObject obj)
    {
        foreach (var (name, value) in obj)
        {
            settings[name] = value is JsonValue v && v.TryGetValue<string>(out var s) ? s : value?.ToJsonString() ?? "";
        }
    }

    [GeneratedRegex(@"variables\('([^']+)'\)")]
    private static partial Regex VariableReference();

    [GeneratedRegex(@"createObject\('([^']+)',")]
    private static partial Regex CreateObjectEntry();
}
