using OrleansLlm.Client;

namespace OrleansLlm.Tests.Formats;

/// <summary>How <c>status</c> turns a batch's figures and the cluster's rate into tokens/s and an ETA.</summary>
[Trait("Category", "Unit")]
public sealed class BatchEstimateTests
{
    private static ClusterView Cluster(params (WorkerState State, double ItemsPerSecond)[] workers) => new(
        workers.Select((w, i) => new WorkerView(new WorkerStatus($"silo-{i}", w.State, 0, 4, 0, 0, 0, "http://ollama"), "Active", w.ItemsPerSecond, DateTimeOffset.UnixEpoch, 0)).ToList(),
        new QueueOverview("q", 0, 0, 0, []),
        "silo-0",
        0);

    [Fact]
    public void RunningBatch_RateIsTheClustersLiveWorkers_TokensPerItemScaleIt()
    {
        var progress = new BatchProgress("b", true, Total: 100, Queued: 45, InFlight: 5, Done: 40, DeadLettered: 10, Sealed: true);
        var usage = new TokenUsage(400, 100, TimeSpan.FromSeconds(75));

        var estimate = BatchEstimate.Of(progress, usage, Cluster((WorkerState.Active, 2), (WorkerState.Draining, 3), (WorkerState.Drained, 7)));

        Assert.Equal(5, estimate.ClusterItemsPerSecond);
        // 500 tokens over 50 finished items, at 5 items/s.
        Assert.Equal(50, estimate.TokensPerSecond);
        // 50 items left at 5 items/s.
        Assert.Equal(TimeSpan.FromSeconds(10), estimate.Eta);
        Assert.Equal("tokens: 400 prompt + 100 completion; Ollama 75.0 s; ~50 tokens/s at the cluster's 5.0 items/s; ETA 10s", estimate.ToString());
    }

    [Fact]
    public void LongBatch_EtaInHoursAndMinutes()
    {
        var progress = new BatchProgress("b", true, Total: 45_000, Queued: 44_000, InFlight: 0, Done: 1_000, DeadLettered: 0, Sealed: true);

        var estimate = BatchEstimate.Of(progress, new TokenUsage(41_000, 5_000, TimeSpan.FromSeconds(12_500)), Cluster((WorkerState.Active, 4)));

        Assert.Equal(TimeSpan.FromSeconds(11_000), estimate.Eta);
        Assert.EndsWith("; ETA 3h 03m", estimate.ToString());
        Assert.StartsWith("tokens: 41,000 prompt + 5,000 completion; Ollama 12,500.0 s; ~184 tokens/s", estimate.ToString());
    }

    [Fact]
    public void NothingCompletingOrNothingLeft_NoEta_RemovedItemsAreNotLeft()
    {
        var waiting = new BatchProgress("b", true, Total: 10, Queued: 10, InFlight: 0, Done: 0, DeadLettered: 0, Sealed: true);
        var done = new BatchProgress("b", true, Total: 10, Queued: 0, InFlight: 0, Done: 10, DeadLettered: 0, Sealed: true);
        var cancelled = new BatchProgress("b", true, Total: 10, Queued: 0, InFlight: 0, Done: 3, DeadLettered: 1, Sealed: true, Removed: 6, Status: BatchStates.Cancelled);

        Assert.Null(BatchEstimate.Of(waiting, TokenUsage.Zero, Cluster((WorkerState.Active, 0))).Eta);
        Assert.Null(BatchEstimate.Of(waiting, TokenUsage.Zero, Cluster((WorkerState.Active, 0))).TokensPerSecond);
        Assert.Null(BatchEstimate.Of(done, new TokenUsage(10, 10, TimeSpan.FromSeconds(1)), Cluster((WorkerState.Active, 3))).Eta);
        Assert.Null(BatchEstimate.Of(cancelled, new TokenUsage(10, 10, TimeSpan.FromSeconds(1)), Cluster((WorkerState.Active, 3))).Eta);
        Assert.Equal("tokens: 0 prompt + 0 completion; Ollama 0.0 s", BatchEstimate.Of(waiting, TokenUsage.Zero, Cluster()).ToString());
    }
}
