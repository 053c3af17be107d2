namespace OrleansLlm.Inference;

/// <summary>
/// Where a <see cref="Generation"/>'s queue wait comes from: how directly the backend shows that requests wait inside
/// it for room, which is what the adaptive controller steers by.
/// </summary>
public enum QueueSignal
{
    /// <summary>
    /// The server timed its own work on the request (Ollama's durations, llama.cpp's <c>timings</c>); what the request's
    /// whole time holds beyond that work is its wait.
    /// </summary>
    Durations,

    /// <summary>
    /// The server counts the requests waiting inside it (<c>vllm:num_requests_waiting</c> and the like, read from its
    /// <c>/metrics</c>); the wait is estimated from that count beside the running one.
    /// </summary>
    ServerGauge,

    /// <summary>Nothing but the answer and how long it took: the wait is unknown, and only latency hints at it.</summary>
    None,
}
