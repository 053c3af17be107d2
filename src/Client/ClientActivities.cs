using System.Diagnostics;

namespace OrleansLlm.Client;

/// <summary>
/// The client's spans (<c>OrleansLlm.Client</c>): one <c>orleansllm.submit</c> per item, the root of the item's one
/// trace, which the silo continues through the batch grain, the queue and every attempt.
/// </summary>
public static class ClientActivities
{
    public const string SourceName = "OrleansLlm.Client";
    public const string SubmitName = "orleansllm.submit";

    private static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// Starts the submit span of each item, each the root of a trace of its own (a chunk carries many items, and each
    /// gets its own trace), linked to the span current now. None of them becomes <see cref="Activity.Current"/>.
    /// </summary>
    /// <returns>Null when nothing listens, else one span (or null, when not sampled) per item.</returns>
    public static Activity?[]? StartSubmits(string batchId, IReadOnlyList<BatchItem> items)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var current = Activity.Current;
        ActivityLink[]? links = current is null ? null : [new ActivityLink(current.Context)];
        var spans = new Activity?[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            Activity.Current = null;
            spans[i] = Source.StartActivity(SubmitName, ActivityKind.Producer, default(ActivityContext), tags: null, links)
                ?.SetTag("orleansllm.batch.id", batchId)
                .SetTag("orleansllm.item.id", items[i].Id);
        }

        Activity.Current = current;
        return spans;
    }

    /// <summary>Ends the submit spans, failed with <paramref name="error"/> if the chunk was not accepted.</summary>
    public static void StopSubmits(Activity?[]? spans, Exception? error)
    {
        if (spans is null)
        {
            return;
        }

        var current = Activity.Current;
        foreach (var span in spans)
        {
            if (error is not null)
            {
                span?.SetStatus(ActivityStatusCode.Error, error.Message);
            }

            span?.Dispose();
        }

        // Stopping a span makes the span current when it started current again, which here was none.
        Activity.Current = current;
    }
}
