using Microsoft.Extensions.Time.Testing;
using OrleansLlm.Inference;
using OrleansLlm.Options;
using OrleansLlm.Worker;
using Xunit.Abstractions;
using static OrleansLlm.Tests.Worker.LimitSeries;

namespace OrleansLlm.Tests.Worker;

/// <summary>
/// The adaptive controller on a continuous-batching server (vLLM, SGLang, llama.cpp's server) and on a CPU one, in
/// simulated time, by what the server tells of its queue (<see cref="QueueSignal"/>): its own durations, a waiting
/// gauge from its <c>/metrics</c>, or nothing but the wall time (the latency rule). Each test prints the limit it went
/// through and its throughput against the best fixed limit.
/// </summary>
[Trait("Category", "Unit")]
public sealed class AdaptiveConcurrencyServerSignalTests(ITestOutputHelper output)
{
    // vLLM with KV-cache room for 48 sequences and max_num_seqs 256: up to 48 run in one batch, nearly linearly, and
    // the rest wait in order. The silo's cap is set far above, as nothing is tuned for it.
    private const int KvSeqs = 48;
    private const int Cap = 256;
    private const double Seconds = 120;

    private static readonly int[] FixedLimits = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 40, 44, 48, 52, 64, 96, 128];

    [Theory]
    [InlineData(QueueSignal.Durations)]
    [InlineData(QueueSignal.ServerGauge)]
    public void ContinuousBatching_WithAQueueSignal_SettlesAtTheKvCapacity_WithoutAQueue(QueueSignal signal)
    {
        var run = Run(new SyntheticBackend(KvSeqs, SyntheticBackend.CurveOf(0.9)) { Signal = signal });

        Assert.InRange(run.Settled, KvSeqs - 2, KvSeqs + 1);
        Assert.True(run.Share >= 0.95, $"{run.Share:P1} of the best fixed limit's throughput");
        Assert.InRange(run.P99Wait, 0, run.Service);
    }

    [Theory]
    [InlineData(KvSeqs, 0.9)]
    [InlineData(4, 0.32)]
    [InlineData(2, 0.32)]
    public void NoSignal_TheLatencyRule_ReachesNinetyPercentOfTheBestFixedLimit_AndStaysNearTheSlots(int slots, double exponent)
    {
        var run = Run(new SyntheticBackend(slots, SyntheticBackend.CurveOf(exponent)) { Signal = QueueSignal.None });

        Assert.True(run.Share >= 0.9, $"{run.Share:P1} of the best fixed limit's throughput");
        Assert.InRange(run.Settled, Math.Max(1, slots / 2), slots + Math.Max(2, slots / 4));
        Assert.InRange(run.MaxSecondHalf, 1, 2 * slots);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void NoSignal_WithNoisyTimings_StillReachesNinetyPercent(int seed)
    {
        var backend = new SyntheticBackend(KvSeqs, SyntheticBackend.CurveOf(0.9)) { Signal = QueueSignal.None };
        backend.AddMeasurementNoise(0.15, seed);

        var run = Run(backend);

        Assert.True(run.Share >= 0.9, $"{run.Share:P1} of the best fixed limit's throughput");
        Assert.InRange(run.MaxSecondHalf, 1, 2 * KvSeqs);
    }

    /// <summary>
    /// Runs the controller for <see cref="Seconds"/> and, beside it, every fixed limit on a fresh copy of the backend;
    /// compares the answers in the second half of the time.
    /// </summary>
    private RunResult Run(SyntheticBackend backend)
    {
        var (controller, worker) = SyntheticWorker.Adaptive(backend, Cap, new FakeTimeProvider());
        worker.RunUntil(Seconds);

        var secondHalf = worker.Answers.Where(a => a.Time >= Seconds / 2).ToList();
        var adaptive = secondHalf.Count;
        var (bestLimit, best) = FixedLimits.Select(limit => (limit, Answers(limit, backend))).MaxBy(r => r.Item2);
        var service = Median(secondHalf.Select(a => (a.QueueWait + a.Service).TotalSeconds - a.RealWait));
        var waits = secondHalf.Select(a => a.RealWait).Order().ToList();
        var result = new RunResult(
            Settled(secondHalf.Select(a => a.Limit)),
            secondHalf.Max(a => a.Limit),
            (double)adaptive / best,
            waits[(int)Math.Ceiling(0.99 * waits.Count) - 1],
            service);
        output.WriteLine($"{backend.Slots} slots, e = {backend.Curve.ScalingExponent}, signal {backend.Signal}: limit every 2 s {string.Join(",", Runs(worker.LimitsEvery(2, Seconds)))}");
        output.WriteLine($"settled at {result.Settled} (at most {result.MaxSecondHalf}), knee {controller.Knee}; {adaptive} answers in the second minute, {result.Share:P1} of the best fixed limit's ({bestLimit}: {best}); real p99 wait {result.P99Wait / service:F2} service times");
        return result;
    }

    /// <summary>Answers a fixed limit gets in the second half of the time from a fresh copy of <paramref name="like"/>.</summary>
    private static int Answers(int limit, SyntheticBackend like)
    {
        var controller = new FixedConcurrencyController(
            Microsoft.Extensions.Options.Options.Create(new WorkerOptions { MaxConcurrency = limit, AdaptiveConcurrency = false }));
        var worker = new SyntheticWorker(controller, new SyntheticBackend(like.Slots, like.Curve), new FakeTimeProvider());
        worker.RunUntil(Seconds);
        return worker.Answers.Count(a => a.Time >= Seconds / 2);
    }

    private sealed record RunResult(int Settled, int MaxSecondHalf, double Share, double P99Wait, double Service);
}
