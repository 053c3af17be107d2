using Microsoft.Extensions.Options;

namespace OrleansLlm.Options;

/// <summary>
/// The model server beside this silo: which API it speaks and, for an OpenAI-compatible one, where it is. Section
/// <c>Backend</c>. With the default <see cref="BackendKind.Ollama"/> nothing else here is read: the <c>Ollama</c>
/// section says everything, as before this section existed.
/// </summary>
public sealed class BackendOptions
{
    public const string Section = "Backend";

    /// <summary><c>Ollama</c> or <c>OpenAi</c> (vLLM, llama.cpp's server, SGLang). Default: <c>Ollama</c>.</summary>
    public BackendKind Kind { get; set; } = BackendKind.Ollama;

    /// <summary>Base URL of the OpenAI-compatible server, without <c>/v1</c>, e.g. <c>http://localhost:8001</c>. Required for <c>OpenAi</c>.</summary>
    public string? Url { get; set; }

    /// <summary>
    /// The model as the server serves it (its id in <c>/v1/models</c>), e.g. <c>Qwen/Qwen2-1.5B-Instruct</c>: the
    /// model of batches that name none. Required for <c>OpenAi</c>.
    /// </summary>
    public string? Model { get; set; }

    /// <summary>
    /// Sent as <c>Authorization: Bearer</c> (vLLM's <c>--api-key</c>), also to <see cref="MetricsPath"/>. Never logged.
    /// Default: none (the SDK then sends <c>EMPTY</c>, which a server without a key ignores).
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// Path of the server's Prometheus metrics, read every <see cref="MetricsInterval"/> for its count of waiting
    /// requests. A server without them (404, or none of the known names) is asked nothing more of it. Default: <c>/metrics</c>.
    /// </summary>
    public string MetricsPath { get; set; } = "/metrics";

    /// <summary>How often the server's <see cref="MetricsPath"/> is read. Default: 250 milliseconds.</summary>
    public TimeSpan MetricsInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Timeout of one request. Default: 5 minutes.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a health probe (the model listed, a one-token answer) may take before the server counts as broken. Default: 1 minute.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How the server is named in logs and health messages.</summary>
    public string ServerName => Kind == BackendKind.Ollama ? "Ollama" : "the OpenAI-compatible server";
}

public sealed class BackendOptionsValidator : IValidateOptions<BackendOptions>
{
    public ValidateOptionsResult Validate(string? name, BackendOptions o)
    {
        const string s = BackendOptions.Section;
        if (!Enum.IsDefined(o.Kind))
        {
            return ValidateOptionsResult.Fail($"{s}:{nameof(o.Kind)} must be Ollama or OpenAi (was {o.Kind}).");
        }

        if (o.Kind == BackendKind.Ollama)
        {
            return ValidateOptionsResult.Success;
        }

        var failures = new List<string>();
        if (!Uri.TryCreate(o.Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add($"{s}:{nameof(o.Url)} is required for Kind OpenAi: an absolute http(s) URL, e.g. 'http://localhost:8001' (was '{o.Url}').");
        }

        if (string.IsNullOrWhiteSpace(o.Model))
        {
            failures.Add($"{s}:{nameof(o.Model)} is required for Kind OpenAi: the model's id in the server's /v1/models, e.g. 'Qwen/Qwen2-1.5B-Instruct'.");
        }

        if (string.IsNullOrWhiteSpace(o.MetricsPath) || !o.MetricsPath.StartsWith('/'))
        {
            failures.Add($"{s}:{nameof(o.MetricsPath)} must be a path starting with '/', e.g. '/metrics' (was '{o.MetricsPath}').");
        }

        AddIfNotPositive(failures, nameof(o.MetricsInterval), o.MetricsInterval);
        AddIfNotPositive(failures, nameof(o.RequestTimeout), o.RequestTimeout);
        AddIfNotPositive(failures, nameof(o.ProbeTimeout), o.ProbeTimeout);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void AddIfNotPositive(List<string> failures, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{BackendOptions.Section}:{key} must be positive (was {value}).");
        }
    }
}
