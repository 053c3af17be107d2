namespace OrleansLlm.Telemetry;

/// <summary>
/// The <c>reason</c> label of <c>orleansllm_items_failed_total</c> and <c>orleansllm_items_dead_lettered_total</c>: a
/// small fixed set of classes, never an error's text, so the number of series stays bounded.
/// </summary>
/// <remarks>A call's exception is classed by <c>Inference/BackendFailureReasons</c>, beside the exceptions it knows.</remarks>
public static class FailureReasons
{
    /// <summary>Ollama did not answer within <c>Ollama:RequestTimeout</c>.</summary>
    public const string Timeout = "timeout";

    /// <summary>Ollama answered with a 4xx status (e.g. the model is missing).</summary>
    public const string OllamaHttp4xx = "ollama_http_4xx";

    /// <summary>Ollama answered with a 5xx status (an error, or a full queue).</summary>
    public const string OllamaHttp5xx = "ollama_http_5xx";

    /// <summary>Ollama answered 200 but the answer was unusable (no <c>"done": true</c>, an error in the stream).</summary>
    public const string OllamaBadResponse = "ollama_bad_response";

    /// <summary>The silo's Ollama could not be reached; the item went back without spending an attempt.</summary>
    public const string OllamaUnreachable = "ollama_unreachable";

    /// <summary>Any other error of the call.</summary>
    public const string Error = "error";

    /// <summary>Dead-lettered: the item failed <c>Queue:MaxAttempts</c> times.</summary>
    public const string MaxAttempts = "max_attempts";

    /// <summary>Dead-lettered: the item can't be processed as it is (not JSON, too large, a field the prompt needs is missing, a forged envelope).</summary>
    public const string Malformed = "malformed";

    /// <summary>Every reason an attempt can fail for.</summary>
    public static IReadOnlyList<string> AttemptReasons { get; } = [Timeout, OllamaHttp4xx, OllamaHttp5xx, OllamaBadResponse, OllamaUnreachable, Error];

    /// <summary>Dead-lettered: a raw item whose id already has another item's result.</summary>
    public const string DuplicateId = "duplicate_id";

    /// <summary>Dead-lettered: the answer broke the batch's JSON schema, also when asked once more.</summary>
    public const string InvalidAnswer = "invalid_answer";

    /// <summary>Every reason an item can be dead-lettered for.</summary>
    public static IReadOnlyList<string> DeadLetterReasons { get; } = [MaxAttempts, Malformed, DuplicateId, InvalidAnswer];
}
