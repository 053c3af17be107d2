using Microsoft.Extensions.Options;

namespace OrleansLlm.Options;

/// <summary>The Ollama server beside this silo. Section <c>Ollama</c>.</summary>
public sealed class OllamaOptions
{
    public const string Section = "Ollama";

    /// <summary>Base URL of the co-located Ollama. Default: <c>http://localhost:11434</c>.</summary>
    public string Url { get; set; } = "http://localhost:11434";

    /// <summary>
    /// Model to generate with, as <c>name[:tag]</c>. Without a tag it means <c>name:latest</c>, as in Ollama: see
    /// <see cref="TaggedModel"/>. Default: <c>qwen2:1.5b</c>.
    /// </summary>
    public string Model { get; set; } = "qwen2:1.5b";

    /// <summary>
    /// Threads Ollama computes with, sent with every request as <c>options.num_thread</c>. Set it to the Ollama
    /// container's CPU limit: left out, Ollama counts the node's physical cores, not the container's CPU quota, and
    /// oversubscribes it. Default: not sent (Ollama decides).
    /// </summary>
    public int? NumThreads { get; set; }

    /// <summary>
    /// <see cref="Model"/> the way Ollama names it in <c>/api/tags</c> and everywhere else: <c>llama3.2</c> is
    /// <c>llama3.2:latest</c>; a tagged name is unchanged.
    /// </summary>
    public string TaggedModel => ModelNames.WithTag(Model);

    /// <summary>Timeout of one generate call. CPU models queue for minutes, so HttpClient's 100 s default is too short. Default: 5 minutes.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a health probe (the model listed, a one-token answer) may take before Ollama counts as broken. A busy
    /// CPU Ollama queues the probe behind a whole request, so keep it above one request's time. Default: 1 minute.
    /// </summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromMinutes(1);
}

public sealed class OllamaOptionsValidator : IValidateOptions<OllamaOptions>
{
    public ValidateOptionsResult Validate(string? name, OllamaOptions o)
    {
        var failures = new List<string>();
        const string s = OllamaOptions.Section;
        if (!Uri.TryCreate(o.Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add($"{s}:{nameof(o.Url)} must be an absolute http(s) URL, e.g. 'http://localhost:11434' (was '{o.Url}').");
        }

        if (string.IsNullOrWhiteSpace(o.Model))
        {
            failures.Add($"{s}:{nameof(o.Model)} is required, e.g. 'qwen2:1.5b'.");
        }

        if (o.ProbeTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{s}:{nameof(o.ProbeTimeout)} must be positive (was {o.ProbeTimeout}).");
        }

        if (o.NumThreads is < 1)
        {
            failures.Add($"{s}:{nameof(o.NumThreads)} must be at least 1, e.g. the Ollama container's CPU limit, or left out (was {o.NumThreads}).");
        }

        if (o.RequestTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{s}:{nameof(o.RequestTimeout)} must be positive (was {o.RequestTimeout}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
