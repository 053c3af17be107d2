using System.Diagnostics;

namespace OrleansLlm.Telemetry;

/// <summary>
/// The spans of an item's one trace on the silo: <c>orleansllm.enqueue</c> in the batch grain,
/// <c>orleansllm.lease</c> for each attempt at it, the Ollama call (<c>text_completion MODEL</c>, with
/// <c>gen_ai.*</c> attributes), and <c>orleansllm.complete</c> (or <c>.fail</c>, <c>.dead_letter</c>,
/// <c>.release</c>) where its outcome is recorded.
/// </summary>
/// <remarks>
/// An item's trace context travels with the item itself, as <c>traceparent</c> in its envelope in Redis, so every
/// attempt, on any silo and after any restart, joins the trace its submission started. Spans are only made while
/// someone listens (OpenTelemetry with an exporter, a test), and cost nothing otherwise.
/// </remarks>
public static class OrleansLlmActivities
{
    public const string EnqueueName = "orleansllm.enqueue";
    public const string LeaseName = "orleansllm.lease";
    public const string CompleteName = "orleansllm.complete";
    public const string FailName = "orleansllm.fail";
    public const string DeadLetterName = "orleansllm.dead_letter";
    public const string ReleaseName = "orleansllm.release";

    public const string BatchTag = "orleansllm.batch.id";
    public const string ItemTag = "orleansllm.item.id";
    public const string LeaseTag = "orleansllm.lease.id";
    public const string AttemptTag = "orleansllm.attempt";
    public const string SiloTag = "orleansllm.silo";

    /// <summary>The <c>error.type</c> of an attempt cut short by a drain that ran out of time.</summary>
    public const string AbortedReason = "aborted";

    private static readonly ActivitySource Source = new(OrleansLlmTelemetry.ActivitySourceName);

    /// <summary>
    /// The span of one item entering the queue, in the trace <paramref name="traceParent"/> names (the client's submit
    /// span), or in a trace of its own; it links to the batch grain's call, which carries a whole chunk of items.
    /// It does not become <see cref="Activity.Current"/>.
    /// </summary>
    public static Activity? StartEnqueue(string batchId, string itemId, string? traceParent)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        ActivityLink[]? links = Activity.Current is { } call ? [new ActivityLink(call.Context)] : null;
        var previous = Activity.Current;
        var activity = StartInTrace(EnqueueName, ActivityKind.Producer, traceParent, links);
        Activity.Current = previous;
        activity?.SetTag(BatchTag, batchId).SetTag(ItemTag, itemId);
        return activity;
    }

    /// <summary>
    /// The span of one attempt at an item, from its lease until its outcome is recorded, in the trace its envelope
    /// names. It becomes <see cref="Activity.Current"/>, so the Ollama call and the outcome are its children.
    /// </summary>
    public static Activity? StartLease(ItemScope item)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = StartInTrace(LeaseName, ActivityKind.Consumer, item.TraceParent, links: null);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(BatchTag, item.BatchId).SetTag(ItemTag, item.ItemId).SetTag(LeaseTag, item.LeaseId)
                .SetTag(AttemptTag, item.Attempt).SetTag(SiloTag, item.Silo);
        }

        return activity;
    }

    /// <summary>The span of one Ollama call, a child of the current span, named as the GenAI conventions say.</summary>
    public static Activity? StartGeneration(string model, Uri server, string provider = GenAiAttributes.Ollama)
    {
        // Its name is built per call: not while no one listens.
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity($"{GenAiAttributes.TextCompletion} {model}", ActivityKind.Client);
        activity?.SetTag(GenAiAttributes.OperationName, GenAiAttributes.TextCompletion)
            .SetTag(GenAiAttributes.ProviderName, provider)
            .SetTag(GenAiAttributes.RequestModel, model)
            .SetTag(GenAiAttributes.ServerAddress, server.Host)
            .SetTag(GenAiAttributes.ServerPort, server.Port);
        return activity;
    }

    /// <summary>The span of recording an item's outcome in Redis, a child of the current span.</summary>
    /// <param name="name">One of <see cref="CompleteName"/>, <see cref="FailName"/>, <see cref="DeadLetterName"/>, <see cref="ReleaseName"/>.</param>
    public static Activity? StartSettle(string name) => Source.StartActivity(name, ActivityKind.Internal);

    /// <summary>Marks a span failed with a bounded reason class (<see cref="FailureReasons"/>) and a description.</summary>
    public static void SetFailure(this Activity? activity, string reason, string description)
    {
        activity?.SetStatus(ActivityStatusCode.Error, description).SetTag(GenAiAttributes.ErrorType, reason);
    }

    // A span whose trace is named by a W3C traceparent, or that starts a trace of its own: never a child of whatever
    // happens to be current (the worker's pump outlives the call that started it; a grain call carries many items).
    private static Activity? StartInTrace(string name, ActivityKind kind, string? traceParent, ActivityLink[]? links)
    {
        var parent = traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out var context) ? context : default;
        Activity.Current = null;
        return Source.StartActivity(name, kind, parent, tags: null, links);
    }
}
