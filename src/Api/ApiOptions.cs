namespace OrleansLlm.Api;

/// <summary>The OpenAI Batch API every silo serves over HTTP (docs/api.md). Section <c>Api</c>.</summary>
/// <remarks>The API is served only when <see cref="Keys"/> holds a key: without one, no request could be let in.</remarks>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>
    /// The port the API listens on, and that answers nothing but <c>/v1/*</c>; <c>/v1/*</c> is answered there alone,
    /// so a NetworkPolicy can admit the API port and leave the dashboard, health and metrics closed. Default: 8000.
    /// </summary>
    public int Port { get; set; } = 8000;

    /// <summary>The largest file <c>POST /v1/files</c> takes; larger ones get 413. Default: 200 MiB, as OpenAI's batch input files.</summary>
    public long MaxFileBytes { get; set; } = 200L * 1024 * 1024;

    /// <summary>Requests (lines) one batch may hold; a larger input file fails the batch at validation. Default: 50,000, as OpenAI.</summary>
    public int MaxRequestsPerBatch { get; set; } = 50_000;

    /// <summary>Batches one key may have validating or in progress at once; one more gets 429. Default: 100.</summary>
    public int MaxBatchesInProgressPerKey { get; set; } = 100;

    /// <summary>How long an uploaded file, and an ended batch's record, are kept in Redis. Default: 30 days, as OpenAI's batch files.</summary>
    public TimeSpan FileTtl { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// How often each silo looks at the batches that have not ended, to resume a validation a dead silo left and to
    /// record each batch's end even when nobody asks for it. Default: 5 seconds.
    /// </summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The API keys: each the hex SHA-256 of a key, and the tenant it acts for. The keys themselves are never stored,
    /// logged or shown; a tenant sees only its own files and batches. Default: none, and no API served.
    /// </summary>
    public List<ApiKeyOptions> Keys { get; set; } = [];

    public bool Enabled => Keys.Count > 0;
}
