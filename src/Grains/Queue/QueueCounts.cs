namespace OrleansLlm.Queue;

/// <summary>The whole queue's figures and its most recent batches.</summary>
public sealed record QueueCounts(string QueueName, long Ready, long InFlight, long DeadLettered, IReadOnlyList<string> RecentBatches);
