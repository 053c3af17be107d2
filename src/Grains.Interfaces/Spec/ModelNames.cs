namespace OrleansLlm;

/// <summary>How Ollama names models, so a name in <c>/api/tags</c>, <c>Ollama:Model</c> and a batch's spec are compared one way everywhere.</summary>
public static class ModelNames
{
    // Ollama lists models pulled from its default registry without this prefix.
    private const string DefaultRegistryPrefix = "registry.ollama.ai/library/";

    /// <summary>Adds Ollama's default tag <c>:latest</c> to a model name that has none.</summary>
    /// <remarks>
    /// The tag is what follows a colon in the last path segment: <c>registry:5000/ns/model</c> has none, since that
    /// colon belongs to the registry's port.
    /// </remarks>
    public static string WithTag(string model)
    {
        var name = model.Trim();
        var lastSegment = name[(name.LastIndexOf('/') + 1)..];
        return lastSegment.Contains(':', StringComparison.Ordinal) ? name : name + ":latest";
    }

    /// <summary>
    /// Whether a model listed by Ollama is the configured one: a missing tag means <c>:latest</c>
    /// (<see cref="WithTag"/>), the default registry's prefix is optional, and case does not matter.
    /// </summary>
    public static bool Same(string listed, string configured) =>
        string.Equals(Short(WithTag(listed)), Short(WithTag(configured)), StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The one spelling of a model that <see cref="Same"/> compares: tagged, without the default registry's prefix, in
    /// lower case. The queue routes items by it.
    /// </summary>
    public static string Key(string name) => Short(WithTag(name)).ToLowerInvariant();

    private static string Short(string name) =>
        name.StartsWith(DefaultRegistryPrefix, StringComparison.OrdinalIgnoreCase) ? name[DefaultRegistryPrefix.Length..] : name;
}
