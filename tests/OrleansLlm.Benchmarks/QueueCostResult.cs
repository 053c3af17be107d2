namespace OrleansLlm.Benchmarks;

/// <summary>What the queue's scripts alone cost Redis for one size of lease call and complete group (<see cref="QueueCost"/>).</summary>
/// <param name="LeaseSize">Items a lease call asked for.</param>
/// <param name="GroupSize">Answers per complete call.</param>
public sealed record QueueCostResult(int LeaseSize, int GroupSize, int Items, QueueCostPhase Enqueue, QueueCostPhase Lease, QueueCostPhase Complete)
{
    /// <summary>Redis CPU per item over the three phases: an item's whole way through the queue.</summary>
    public double MicrosecondsPerItem => Enqueue.MicrosecondsPerItem + Lease.MicrosecondsPerItem + Complete.MicrosecondsPerItem;

    /// <summary>Items per second one Redis core carries at this cost.</summary>
    public double ItemsPerCoreSecond => 1e6 / MicrosecondsPerItem;
}
