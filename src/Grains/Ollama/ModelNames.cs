using OrleansLlm.Options;

namespace OrleansLlm.Ollama;

/// <summary>How Ollama names models, so a name in <c>/api/tags</c> and <c>Ollama:Model</c> are compared one way everywhere.</summary>
public static class ModelNames
{
    // Ollama lists models pulled from its default registry without this prefix.
    private const string DefaultRegistryPrefix = "registry.ollama.ai/library/";

    /// <summary>
    /// Whether a model listed by Ollama is the configured one: a missing tag means <c>:latest</c>
    /// (<see cref="OllamaOptions.WithTag"/>), the default registry's prefix is optional, and case does not matter.
    /// </summary>
    public static bool Same(string listed, string configured) =>
        string.Equals(Short(OllamaOptions.WithTag(listed)), Short(OllamaOptions.WithTag(configured)), StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The one spelling of a model that <see cref="Same"/> compares: tagged, without the default registry's prefix, in
    /// lower case. The queue routes items by it.
    /// </summary>
    public static string Key(string name) => Short(OllamaOptions.WithTag(name)).ToLowerInvariant();

    private static string Short(string name) =>
        name.StartsWith(DefaultRegistryPrefix, StringComparison.OrdinalIgnoreCase) ? name[DefaultRegistryPrefix.Length..] : name;
}
