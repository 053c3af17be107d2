using System.Collections.Concurrent;
using System.Diagnostics;
using OllamaSim;
using OrleansLlm.Client;
using OrleansLlm.Telemetry;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Observability;

/// <summary>
/// One item, one trace: the client's submit span, the batch grain's enqueue span, a lease span per attempt (a failed
/// one, then the retry), the Ollama call with its gen_ai.* attributes, and the completion, across the client, two
/// silos, Redis and a retry. Spans are caught by an <see cref="ActivityListener"/>, as an exporter would see them.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class TraceTests(RedisServer redis, ITestOutputHelper output) : IAsyncLifetime
{
    private const string FailingCity = "Tracetown";
    private const string FailingId = "trace-retry";

    private readonly ConcurrentQueue<Activity> _spans = new();
    private ActivityListener _listener = null!;
    private LlmCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _listener = new ActivityListener
        {
            // Orleans files this app's grain calls under its runtime source: their interfaces' namespace, OrleansLlm, starts with "Orleans".
            ShouldListenTo = source => source.Name is OrleansLlmTelemetry.ActivitySourceName or ClientActivities.SourceName
                or "Microsoft.Orleans.Application" or "Microsoft.Orleans.Runtime",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
        _cluster = await LlmCluster.StartAsync(redis, o => o.Simulator = _ => new SimulatorOptions { Parallel = 2, TimeScale = 0.001 });
    }

    [Fact]
    public async Task OneItem_IsOneTrace_AcrossClientSiloAndRetry()
    {
        var batchId = "traced-" + Guid.NewGuid().ToString("N")[..8];
        var items = (await Cities.LoadAsync(6)).Append(new BatchItem(FailingId, $$"""{"city":"{{FailingCity}}"}""")).ToArray();
        foreach (var simulator in _cluster.Simulators)
        {
            simulator.UpdateFaults(f => f with { FailPromptContains = FailingCity });
        }

        await new BatchSubmitter(_cluster.Client).SubmitAsync(batchId, new BatchSpec(null, null), items.ToAsyncEnumerable(), CancellationToken.None);
        await Eventually.TrueAsync(() => Spans(OrleansLlmActivities.LeaseName, FailingId).Any(s => s.Status == ActivityStatusCode.Error && (string?)s.GetTagItem(OrleansLlmActivities.BatchTag) == batchId),
            $"a failed attempt at {FailingId}", describe: DescribeAsync);
        foreach (var simulator in _cluster.Simulators)
        {
            simulator.UpdateFaults(f => f with { FailPromptContains = null });
        }

        var batch = _cluster.Client.GetGrain<IBatchGrain>(batchId);
        await Eventually.TrueAsync(async () => (await batch.GetProgressAsync()) is { IsComplete: true, Done: 7 }, "the batch to complete", describe: DescribeAsync);
        var traces = Spans(ClientActivities.SubmitName).Where(s => (string?)s.GetTagItem(OrleansLlmActivities.BatchTag) == batchId).Select(s => s.TraceId).ToArray();
        await Eventually.TrueAsync(() => traces.All(t => _spans.Any(s => s.TraceId == t && s.DisplayName == OrleansLlmActivities.CompleteName)),
            "every item's completion span", describe: DescribeAsync);

        var submit = Assert.Single(Spans(ClientActivities.SubmitName, FailingId), s => (string?)s.GetTagItem(OrleansLlmActivities.BatchTag) == batchId);
        var trace = submit.TraceId;
        var inTrace = _spans.Where(s => s.TraceId == trace).ToArray();
        foreach (var span in inTrace.OrderBy(s => s.StartTimeUtc))
        {
            output.WriteLine($"{span.StartTimeUtc:HH:mm:ss.fff} {span.Source.Name,-22} {span.DisplayName,-28} {span.SpanId} <- {span.ParentSpanId} {span.Status} " +
                             string.Join(" ", span.TagObjects.Select(t => $"{t.Key}={t.Value}")));
        }

        // The client: a root span of its own, not part of the chunk's call.
        Assert.Equal(ActivityKind.Producer, submit.Kind);
        Assert.Equal(default, submit.ParentSpanId);

        // The batch grain: enqueue, the submit span's child, linked to Orleans' span of the AddItems call.
        var enqueue = Assert.Single(inTrace, s => s.DisplayName == OrleansLlmActivities.EnqueueName);
        Assert.Equal(submit.SpanId, enqueue.ParentSpanId);
        var call = Assert.Single(enqueue.Links).Context;
        var grainCall = Assert.Single(_spans, s => s.SpanId == call.SpanId);
        Assert.Equal((ActivityKind.Server, "IBatchGrain/AddItemsAsync"), (grainCall.Kind, grainCall.DisplayName));

        // The silos: every attempt joins the trace through the envelope in Redis, the failed ones and the retry.
        var leases = inTrace.Where(s => s.DisplayName == OrleansLlmActivities.LeaseName).OrderBy(s => s.StartTimeUtc).ToArray();
        Assert.True(leases.Length >= 2, $"expected a failed attempt and a retry, saw {leases.Length} attempts");
        Assert.All(leases, l => Assert.Equal(enqueue.SpanId, l.ParentSpanId));
        Assert.All(leases, l => Assert.Equal(FailingId, l.GetTagItem(OrleansLlmActivities.ItemTag)));
        Assert.Equal(Enumerable.Range(1, leases.Length), leases.Select(l => (int)l.GetTagItem(OrleansLlmActivities.AttemptTag)!));
        Assert.All(leases[..^1], l => Assert.Equal((ActivityStatusCode.Error, FailureReasons.OllamaHttp5xx), (l.Status, (string?)l.GetTagItem(GenAiAttributes.ErrorType))));
        var answered = leases[^1];
        Assert.Equal(ActivityStatusCode.Unset, answered.Status);

        // The Ollama calls, one per attempt, with the GenAI attributes; the last one answered.
        var calls = inTrace.Where(s => s.Kind == ActivityKind.Client && s.Source.Name == OrleansLlmTelemetry.ActivitySourceName).ToArray();
        Assert.Equal(leases.Select(l => l.SpanId.ToHexString()).Order(), calls.Select(c => c.ParentSpanId.ToHexString()).Order());
        var generation = Assert.Single(calls, c => c.ParentSpanId == answered.SpanId);
        Assert.Equal("text_completion qwen2:1.5b", generation.DisplayName);
        Assert.Equal("ollama", generation.GetTagItem(GenAiAttributes.ProviderName));
        Assert.Equal("qwen2:1.5b", generation.GetTagItem(GenAiAttributes.RequestModel));
        Assert.True((int)generation.GetTagItem(GenAiAttributes.InputTokens)! > 0);
        Assert.True((int)generation.GetTagItem(GenAiAttributes.OutputTokens)! > 0);

        // And the completion, recorded under the attempt that answered.
        var complete = Assert.Single(inTrace, s => s.DisplayName == OrleansLlmActivities.CompleteName);
        Assert.Equal(answered.SpanId, complete.ParentSpanId);

        // Every item has a trace of its own.
        Assert.Equal(items.Length, traces.Distinct().Count());
    }

    public async Task DisposeAsync()
    {
        _listener.Dispose();
        await _cluster.DisposeAsync();
    }

    private IEnumerable<Activity> Spans(string name, string? itemId = null) =>
        _spans.Where(s => s.DisplayName == name && (itemId is null || (string?)s.GetTagItem(OrleansLlmActivities.ItemTag) == itemId));

    private Task<string> DescribeAsync() => Task.FromResult(
        $"{_spans.Count} spans: " + string.Join(", ", _spans.GroupBy(s => s.DisplayName).Select(g => $"{g.Key} ×{g.Count()}")));
}
