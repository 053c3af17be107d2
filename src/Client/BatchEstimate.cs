namespace OrleansLlm.Client;

/// <summary>
/// A batch's token figures and how long it has left, estimated from the cluster's current rate: the items per second
/// its workers report (each over its last heartbeats), so the estimate follows the cluster as it scales.
/// </summary>
/// <param name="ClusterItemsPerSecond">Items completed per second by the whole cluster now.</param>
/// <param name="TokensPerSecond">The batch's tokens per finished item at the cluster's rate; null before any item finished.</param>
/// <param name="Eta">Time left at the cluster's rate; null when nothing is left, the total is unknown, or nothing completes now.</param>
public sealed record BatchEstimate(TokenUsage Usage, double ClusterItemsPerSecond, double? TokensPerSecond, TimeSpan? Eta)
{
    public static BatchEstimate Of(BatchProgress progress, TokenUsage usage, ClusterView cluster)
    {
        var rate = cluster.Workers.Where(w => w.Status.State != WorkerState.Drained).Sum(w => w.Throughput);
        // Dead-lettered items cost tokens too (an answer that broke the format), so they count as finished.
        var finished = progress.Done + progress.DeadLettered;
        double? tokensPerSecond = finished > 0 && rate > 0 ? (double)usage.TotalTokens / finished * rate : null;
        // Items removed by a cancel or the deadline will never run, so they are not left either.
        var left = progress.Total is { } total ? Math.Max(0, total - finished - progress.Removed) : (long?)null;
        TimeSpan? eta = left is > 0 && rate > 0 ? TimeSpan.FromSeconds(left.Value / rate) : null;
        return new BatchEstimate(usage, rate, tokensPerSecond, eta);
    }

    /// <summary>One line for <c>orleansllm status</c>.</summary>
    public override string ToString()
    {
        var line = FormattableString.Invariant(
            $"tokens: {Usage.PromptTokens:N0} prompt + {Usage.CompletionTokens:N0} completion; Ollama {Usage.OllamaTime.TotalSeconds:N1} s");
        if (TokensPerSecond is { } tps)
        {
            line += FormattableString.Invariant($"; ~{tps:N0} tokens/s at the cluster's {ClusterItemsPerSecond:N1} items/s");
        }

        return Eta is { } eta ? $"{line}; ETA {Format(eta)}" : line;
    }

    private static string Format(TimeSpan t) =>
        t.TotalHours >= 1 ? FormattableString.Invariant($"{(int)t.TotalHours}h {t.Minutes:D2}m")
            : t.TotalMinutes >= 1 ? FormattableString.Invariant($"{t.Minutes}m {t.Seconds:D2}s")
            : FormattableString.Invariant($"{Math.Ceiling(t.TotalSeconds):0}s");
}
