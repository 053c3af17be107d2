using System.Collections.Concurrent;
using System.Text.Json;

namespace OrleansLlm.Benchmarks.Infrastructure;

/// <summary>One answered generate call, as seen by whoever made it.</summary>
/// <param name="Backend">host:port of the backend that answered.</param>
/// <param name="QueueWaitSeconds">Time the request waited for a slot in Ollama's queue.</param>
/// <param name="AnsweredAt">When the answer came back.</param>
/// <param name="SentAt">When the request was sent.</param>
public sealed record CallSample(string Backend, double QueueWaitSeconds, double ServiceSeconds, DateTimeOffset AnsweredAt, DateTimeOffset SentAt);

/// <summary>
/// Collects the queue wait of every generate call of one design run, from every caller (A/B/C's consumers and D's
/// silos alike), through <see cref="RecordingHandler"/> on their HttpClients.
/// </summary>
/// <remarks>
/// The simulators only expose per-backend p50/p99, which can't be merged into a cluster-wide percentile; the
/// responses carry each request's durations, so the wait is derived per request instead:
/// total_duration − load_duration − prompt_eval_duration − eval_duration, i.e. the time between the request
/// reaching the simulator and it getting a slot (plus microseconds of request parsing).
/// </remarks>
public sealed class CallRecorder
{
    private readonly ConcurrentQueue<CallSample> _samples = new();
    private readonly ConcurrentDictionary<string, BackendLoad> _loads = new(StringComparer.Ordinal);

    public void Add(CallSample sample) => _samples.Enqueue(sample);

    /// <summary>Requests in flight at the backend host:port, from every caller through this recorder.</summary>
    public BackendLoad LoadOf(string backend) => _loads.GetOrAdd(backend, _ => new BackendLoad());

    public IReadOnlyList<CallSample> Snapshot() => _samples.ToArray();

    public DelegatingHandler CreateHandler(HttpMessageHandler? inner = null) =>
        inner is null ? new RecordingHandler(this) : new RecordingHandler(this) { InnerHandler = inner };
}

/// <summary>Reads the durations of each successful non-streaming generate answer, without altering it.</summary>
public sealed class RecordingHandler(CallRecorder recorder) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri is not { } uri)
        {
            return await base.SendAsync(request, cancellationToken);
        }

        if (uri.AbsolutePath.EndsWith("/v1/chat/completions", StringComparison.Ordinal))
        {
            return await SendChatAsync(uri, request, cancellationToken);
        }

        if (!uri.AbsolutePath.EndsWith("/api/generate", StringComparison.Ordinal))
        {
            return await base.SendAsync(request, cancellationToken);
        }

        var sentAt = DateTimeOffset.UtcNow;
        var response = await SendCountedAsync(uri, request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return response;
        }

        // Buffering is harmless: a non-streaming answer is one small JSON object sent at once, after the work.
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (LastLine(body) is { } line && Durations(line) is var (wait, service))
        {
            recorder.Add(new CallSample(uri.Authority, wait, service, DateTimeOffset.UtcNow, sentAt));
        }

        return response;
    }

    /// <summary>Sends the request, counted in its backend's load while it is out.</summary>
    private async Task<HttpResponseMessage> SendCountedAsync(Uri uri, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var load = recorder.LoadOf(uri.Authority);
        load.Sending();
        try
        {
            return await base.SendAsync(request, cancellationToken);
        }
        finally
        {
            // A non-streaming answer arrives whole: when the headers are in, the request is out of the backend.
            load.Done();
        }
    }

    /// <summary>
    /// An OpenAI-compatible answer tells no queue wait (vLLM's carries no durations): its load is counted, and its
    /// whole time recorded as service with no wait; the servers' own queue waits come from the simulators' stats.
    /// </summary>
    private async Task<HttpResponseMessage> SendChatAsync(Uri uri, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var sentAt = DateTimeOffset.UtcNow;
        var sent = System.Diagnostics.Stopwatch.GetTimestamp();
        var response = await SendCountedAsync(uri, request, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            recorder.Add(new CallSample(uri.Authority, 0, System.Diagnostics.Stopwatch.GetElapsedTime(sent).TotalSeconds, DateTimeOffset.UtcNow, sentAt));
        }

        return response;
    }

    private static string? LastLine(string body) =>
        body.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();

    /// <summary>Queue wait and service time (prompt + generation) in seconds, or null if the answer is not a final one.</summary>
    private static (double Wait, double Service)? Durations(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (!root.TryGetProperty("done", out var done) || done.ValueKind != JsonValueKind.True)
            {
                return null;
            }

            long Ns(string name) => root.TryGetProperty(name, out var v) && v.TryGetInt64(out var n) ? n : 0;
            var waitNs = Ns("total_duration") - Ns("load_duration") - Ns("prompt_eval_duration") - Ns("eval_duration");
            return (Math.Max(0, waitNs) / 1e9, (Ns("prompt_eval_duration") + Ns("eval_duration")) / 1e9);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
