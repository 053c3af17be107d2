namespace OrleansLlm.QueueModel;

/// <summary>
/// One step of a run: what a producer, a simulated silo, an operator or the clock does. Small numbers pick among the
/// run's fixed batches (<see cref="World.Specs"/>), silos and held leases, so a shrunk failure reads as a story.
/// </summary>
public abstract record Op
{
    /// <summary>Items <paramref name="Ids"/> (ids <c>i0</c>..<c>i9</c>; repeats are skipped) into batch <paramref name="Batch"/>, sealed after if asked.</summary>
    public sealed record Submit(int Batch, int[] Ids, bool AndSeal) : Op
    {
        public override string ToString() => $"Submit(b{Batch}, [{string.Join(",", Ids)}]{(AndSeal ? ", seal" : "")})";
    }

    public sealed record Seal(int Batch) : Op;

    /// <summary><paramref name="Copies"/> copies of raw item <c>{"id":"rId","v":Variant}</c>: the same id with another variant is another item.</summary>
    public sealed record PushRaw(int Id, int Variant, int Copies) : Op;

    public sealed record Lease(int Silo, int Max) : Op;

    public sealed record Renew(int Silo) : Op;

    /// <summary>The silo answers the <paramref name="Pick"/>-th lease it holds (which may have gone back meanwhile: a late answer).</summary>
    public sealed record Complete(int Silo, int Pick) : Op;

    /// <summary>
    /// Answers sent together in one Complete call (a worker's group commit), in order: each takes the
    /// <c>Pick</c>-th lease its silo holds, or, <c>Again</c>, sends one of that silo's earlier answers once more.
    /// Silos may mix, leases may have gone back, the same token may come twice.
    /// </summary>
    public sealed record CompleteGroup((int Silo, int Pick, bool Again)[] Answers) : Op
    {
        public override string ToString() =>
            $"CompleteGroup([{string.Join(", ", Answers.Select(a => $"s{a.Silo}:{a.Pick}{(a.Again ? " again" : "")}"))}])";
    }

    public sealed record Fail(int Silo, int Pick, bool Backend, bool Delayed) : Op;

    public sealed record DeadLetter(int Silo, int Pick) : Op;

    /// <summary>The silo sends its last settle again, as after a timeout that hid whether the first one ran.</summary>
    public sealed record Resend(int Silo) : Op;

    /// <summary>The silo drains: every lease it holds goes back.</summary>
    public sealed record Release(int Silo) : Op;

    public sealed record Sweep : Op;

    /// <summary>Membership declares the silo dead: its leases go back (the silo itself may still answer late).</summary>
    public sealed record Recover(int Silo) : Op;

    public sealed record Advance(int Seconds) : Op;

    public sealed record Cancel(int Batch) : Op;

    public sealed record Retry(int Batch) : Op;

    /// <summary>Batches past their deadline expire (the sweep's <c>ExpireDue</c>).</summary>
    public sealed record Expire : Op;

    public sealed record Delete(int Batch) : Op;

    /// <summary>Batches past their retention are forgotten (the sweep's <c>Purge</c>).</summary>
    public sealed record Purge : Op;

    /// <summary>The silo starts or stops serving model <paramref name="Model"/> (its backend pulled or removed it).</summary>
    public sealed record Serve(int Silo, int Model, bool On) : Op;
}
