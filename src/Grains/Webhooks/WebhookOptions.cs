using Microsoft.Extensions.Options;

namespace OrleansLlm.Webhooks;

/// <summary>Webhooks for batch ends (<see cref="WebhookEventTypes"/>), signed per Standard Webhooks. Section <c>Webhooks</c>.</summary>
/// <remarks>
/// Retries are bounded by age, not by a count: an event is tried again, with exponential backoff and jitter, until
/// its next attempt would fall more than <see cref="MaxAge"/> after it was published, and then goes to the dead list
/// with its last error. A count would give up after a fixed number of tries whatever the schedule; an age says how
/// long a receiver may be down without missing anything, which is what an operator plans for (OpenAI retries its own
/// webhooks for up to 72 hours; the Standard Webhooks schedule spans about a day).
/// </remarks>
public sealed class WebhookOptions
{
    public const string Section = "Webhooks";

    /// <summary>The prefix of a Standard Webhooks secret: <c>whsec_</c> and then the key in base64.</summary>
    public const string SecretPrefix = "whsec_";

    /// <summary>Where events are POSTed: an absolute http or https URL. Default: not set, webhooks off.</summary>
    public string? Url { get; set; }

    /// <summary>
    /// The signing secret, <c>whsec_</c> and then base64 (at least 24 bytes of key; Standard Webhooks suggests 24 to
    /// 64), required when <see cref="Url"/> is set. Read it from a Kubernetes Secret (<c>Webhooks__Secret</c>); it is
    /// never logged, nor shown in a validation error. Default: not set.
    /// </summary>
    public string? Secret { get; set; }

    /// <summary>The wait before the second attempt; each further wait doubles, plus up to a quarter of jitter. Default: 5 seconds.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between two attempts. Default: 1 hour.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long after an event was published it may still be tried; past it, the event goes to the dead list with its
    /// last error. Default: 72 hours, as OpenAI retries its own webhooks.
    /// </summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromHours(72);

    /// <summary>
    /// How long a silo holds an event it is sending. If the silo dies meanwhile, the event is sent again by any silo
    /// once this has passed; it must exceed <see cref="RequestTimeout"/>, or a slow delivery would be sent twice.
    /// Default: 30 seconds.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one POST may take, answer included, before it counts as failed. Default: 10 seconds.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often each silo looks for events due when it found none. Default: 1 second.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>True when a <see cref="Url"/> is set: events are stored and sent.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Url);

    /// <summary>The URL without user info, query or fragment, which may carry credentials: fit for logs and errors.</summary>
    public string UrlForDisplay => Uri.TryCreate(Url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Authority}{uri.AbsolutePath}" : "(none)";

    /// <summary>
    /// The wait after the <paramref name="attempts"/>-th failed attempt: <see cref="FirstRetryDelay"/> doubled per
    /// further attempt, at most <see cref="MaxRetryDelay"/>, plus up to a quarter of it at random (<paramref name="jitter"/>
    /// in [0, 1)), so that events failed together do not all come back at once, while each wait stays longer than the last.
    /// </summary>
    public TimeSpan RetryDelay(int attempts, double jitter)
    {
        var doubled = FirstRetryDelay * Math.Pow(2, Math.Clamp(attempts - 1, 0, 30));
        var delay = doubled < MaxRetryDelay ? doubled : MaxRetryDelay;
        return delay + delay * (jitter / 4);
    }
}

public sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    private const string S = WebhookOptions.Section;

    // Standard Webhooks: "secrets SHOULD be between 24 bytes and 64 bytes".
    private const int MinSecretBytes = 24;

    public ValidateOptionsResult Validate(string? name, WebhookOptions o)
    {
        var failures = new List<string>();
        if (o.Enabled)
        {
            CheckEndpoint(o, failures);
        }

        CheckTiming(o, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckEndpoint(WebhookOptions o, List<string> failures)
    {
        if (!Uri.TryCreate(o.Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add($"{S}:{nameof(o.Url)} must be an absolute http(s) URL, e.g. 'https://hooks.example.com/orleansllm', or unset to turn webhooks off.");
        }

        // Never the secret itself in a message: it would end up in the pod's log.
        if (string.IsNullOrWhiteSpace(o.Secret))
        {
            failures.Add($"{S}:{nameof(o.Secret)} is required when {S}:{nameof(o.Url)} is set: 'whsec_' and then a base64 key (from a Secret).");
        }
        else if (!o.Secret.StartsWith(WebhookOptions.SecretPrefix, StringComparison.Ordinal) || !IsBase64Key(o.Secret[WebhookOptions.SecretPrefix.Length..]))
        {
            failures.Add($"{S}:{nameof(o.Secret)} must be 'whsec_' and then a base64 key of at least {MinSecretBytes} bytes (the value is not shown).");
        }
    }

    private static void CheckTiming(WebhookOptions o, List<string> failures)
    {
        if (o.FirstRetryDelay <= TimeSpan.Zero || o.MaxRetryDelay < o.FirstRetryDelay)
        {
            failures.Add($"{S}:{nameof(o.FirstRetryDelay)} must be positive and at most {nameof(o.MaxRetryDelay)} (were {o.FirstRetryDelay} and {o.MaxRetryDelay}).");
        }

        if (o.MaxAge < o.FirstRetryDelay)
        {
            failures.Add($"{S}:{nameof(o.MaxAge)} must be at least {nameof(o.FirstRetryDelay)}, or no event is ever retried (was {o.MaxAge}).");
        }

        if (o.RequestTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{S}:{nameof(o.RequestTimeout)} must be positive (was {o.RequestTimeout}).");
        }

        if (o.LeaseDuration <= o.RequestTimeout)
        {
            failures.Add($"{S}:{nameof(o.LeaseDuration)} must exceed {nameof(o.RequestTimeout)}, or a slow delivery is sent again by another silo (were {o.LeaseDuration} and {o.RequestTimeout}).");
        }

        if (o.PollInterval <= TimeSpan.Zero)
        {
            failures.Add($"{S}:{nameof(o.PollInterval)} must be positive (was {o.PollInterval}).");
        }
    }

    private static bool IsBase64Key(string key)
    {
        var bytes = new byte[key.Length];
        return Convert.TryFromBase64String(key, bytes, out var length) && length >= MinSecretBytes;
    }
}
