using System.Collections.Concurrent;

namespace LocalAgentService.Engine;

/// <summary>Picks the backend for an assistant model name: configured <c>openai-compatible</c> entries, else the simulated model.</summary>
internal sealed class ModelRouter(LocalAgentServerOptions options, SimulatedModel simulated)
{
    private readonly ConcurrentDictionary<string, IChatModel> cache = new(StringComparer.OrdinalIgnoreCase);

    public IChatModel Resolve(string model) => cache.GetOrAdd(model, Create);

    private IChatModel Create(string model)
    {
        if (!options.Models.TryGetValue(model, out var config) || string.Equals(config.Kind, ModelKinds.Simulated, StringComparison.OrdinalIgnoreCase))
        {
            return simulated;
        }

        if (string.Equals(config.Kind, ModelKinds.OpenAICompatible, StringComparison.OrdinalIgnoreCase))
        {
            return new OpenAICompatibleModel(config, model);
        }

        throw new ModelException("invalid_model", $"Model '{model}' has unknown kind '{config.Kind}' (use '{ModelKinds.Simulated}' or '{ModelKinds.OpenAICompatible}').");
    }
}
