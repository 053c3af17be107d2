using CsCheck;

namespace OrleansLlm.QueueModel;

/// <summary>How runs are drawn: mostly leases and answers, with every kind of fault, hand-back and operator action mixed in.</summary>
public static class Ops
{
    private static readonly Gen<int> Silo = Gen.Int[0, World.Silos - 1];
    private static readonly Gen<int> Batch = Gen.Int[0, World.Specs.Length - 1];
    private static readonly Gen<int> Pick = Gen.Int[0, 7];

    public static Gen<Op> One { get; } = Gen.Frequency(
        (6, Gen.Select(Batch, Gen.Int[0, 9].Array[1, 6], Gen.Bool, (b, ids, seal) => (Op)new Op.Submit(b, ids, seal))),
        (1, Batch.Select(b => (Op)new Op.Seal(b))),
        (3, Gen.Select(Gen.Int[0, 4], Gen.Int[0, 1], Gen.Int[1, 2], (id, v, n) => (Op)new Op.PushRaw(id, v, n))),
        (10, Gen.Select(Silo, Gen.Int[1, 4], (s, max) => (Op)new Op.Lease(s, max))),
        (2, Silo.Select(s => (Op)new Op.Renew(s))),
        (8, Gen.Select(Silo, Pick, (s, p) => (Op)new Op.Complete(s, p))),
        (4, Gen.Select(Silo, Pick, Gen.Bool, Gen.Bool, (s, p, backend, delayed) => (Op)new Op.Fail(s, p, backend, delayed))),
        (1, Gen.Select(Silo, Pick, (s, p) => (Op)new Op.DeadLetter(s, p))),
        (2, Silo.Select(s => (Op)new Op.Resend(s))),
        (1, Silo.Select(s => (Op)new Op.Release(s))),
        (2, Gen.Const((Op)new Op.Sweep())),
        (1, Silo.Select(s => (Op)new Op.Recover(s))),
        (4, Gen.Frequency((6, Gen.Int[1, 12]), (1, Gen.Int[25, 80]), (1, Gen.Const(400))).Select(s => (Op)new Op.Advance(s))),
        (1, Batch.Select(b => (Op)new Op.Cancel(b))),
        (1, Batch.Select(b => (Op)new Op.Retry(b))),
        (1, Gen.Const((Op)new Op.Expire())),
        (1, Batch.Select(b => (Op)new Op.Delete(b))),
        (1, Gen.Const((Op)new Op.Purge())),
        (1, Gen.Select(Silo, Gen.Int[0, 1], Gen.Bool, (s, m, on) => (Op)new Op.Serve(s, m, on))));

    /// <summary>Answers 1 to 6 at a time, now and then one sent again.</summary>
    public static Gen<Op> Group { get; } =
        Gen.Select(Silo, Pick, Gen.Frequency((5, Gen.Const(false)), (1, Gen.Const(true))), (s, p, again) => (s, p, again))
            .Array[1, 6]
            .Select(answers => (Op)new Op.CompleteGroup(answers));

    /// <summary>The runs with grouped answers: <see cref="One"/>, and a group in every few steps.</summary>
    public static Gen<Op> WithGroups { get; } = Gen.Frequency((8, One), (2, Group));

    /// <param name="groups">Whether answers also go in groups; the runs without (and so the seeds kept from them) are unchanged.</param>
    public static Gen<Op[]> Runs(int steps, bool groups = false) => (groups ? WithGroups : One).Array[1, steps];
}
