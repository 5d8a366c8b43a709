namespace Infra.Tests;

/// <summary>
/// Just enough YAML for azure.yaml: nested "key: value" mappings by indentation, comments and blank lines
/// skipped. Sequences and multi-line scalars are not needed there and are rejected.
/// </summary>
internal sealed class SimpleYaml
{
    private readonly Dictionary<string, object> entries = new(StringComparer.Ordinal);

    public static SimpleYaml Parse(string text)
    {
        var root = new SimpleYaml();
        var stack = new Stack<(int Indent, SimpleYaml Node)>();
        stack.Push((-1, root));
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var content = line.TrimStart();
            if (content.Length == 0 || content.StartsWith('#'))
            {
                continue;
            }

            Assert.False(content.StartsWith('-'), $"azure.yaml: sequences are not expected here: '{line}'");
            var indent = line.Length - content.Length;
            while (stack.Peek().Indent >= indent)
            {
                stack.Pop();
            }

            var colon = content.IndexOf(':', StringComparison.Ordinal);
            Assert.True(colon > 0, $"azure.yaml: expected 'key: value' in '{line}'");
            var key = content[..colon].Trim();
            var value = content[(colon + 1)..].Trim();
            var hash = value.IndexOf(" #", StringComparison.Ordinal);
            if (hash >= 0)
            {
                value = value[..hash].Trim();
            }

            var parent = stack.Peek().Node;
            if (value.Length == 0)
            {
                var child = new SimpleYaml();
                parent.entries[key] = child;
                stack.Push((indent, child));
            }
            else
            {
                parent.entries[key] = value.Trim('"', '\'');
            }
        }

        return root;
    }

    public SimpleYaml Map(string key)
    {
        Assert.True(entries.TryGetValue(key, out var value) && value is SimpleYaml, $"azure.yaml: '{key}' should be a mapping");
        return (SimpleYaml)value!;
    }

    public string Scalar(string key)
    {
        Assert.True(entries.TryGetValue(key, out var value) && value is string, $"azure.yaml: '{key}' should be a scalar");
        return (string)value!;
    }
}
