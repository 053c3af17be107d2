namespace OrleansLlm.Ollama;

/// <summary>How Ollama names models: <c>name:tag</c>, where a name without a tag means <c>:latest</c>.</summary>
public static class ModelNames
{
    public const string DefaultTag = "latest";

    /// <summary><c>llama3.2</c> → <c>llama3.2:latest</c>; a name with a tag stays as it is.</summary>
    public static string Normalize(string name) => name.Contains(':', StringComparison.Ordinal) ? name : $"{name}:{DefaultTag}";

    /// <summary>Whether two names denote the same model (<c>/api/tags</c> always lists <c>name:tag</c>).</summary>
    public static bool Same(string a, string b) => string.Equals(Normalize(a), Normalize(b), StringComparison.Ordinal);
}
