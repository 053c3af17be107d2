using Microsoft.Extensions.Time.Testing;
using OrleansLlm.Worker;

namespace OrleansLlm.Tests.Worker;

/// <summary>The adaptive controller against synthetic backends with known knees, in simulated time.</summary>
[Trait("Category", "Unit")]
public sealed class AdaptiveConcurrencyControllerTests
{
    private readonly FakeTimeProvider _time = new();

    [Theory]
    [InlineData(1, 0.32)]
    [InlineData(2, 0.32)]
    [InlineData(4, 0.32)]
    [InlineData(8, 1.0)]
    public void ConvergesUpFromOne_ToTheKnee(int slots, double exponent)
    {
        var (controller, worker) = SyntheticWorker.Adaptive(new SyntheticBackend(slots, SyntheticBackend.CurveOf(exponent)), cap: 16, _time);
        Assert.Equal(1, controller.Limit);

        var limits = worker.Run(400);

        Assert.Equal(slots, Settled(limits));
        Assert.Equal(slots, controller.Knee);
        // Once there, it stays there, but for a rare one-step probe above the knee.
        Assert.All(limits.Skip(200), l => Assert.InRange(l, slots, slots + 1));
        // Young knees are re-checked soon (a noisy window may have set them), so early on up to a fifth of the time.
        Assert.True(limits.Skip(200).Count(l => l > slots) <= 40, $"probing too often: {limits.Skip(200).Count(l => l > slots)} of 200");
    }

    [Fact]
    public void ClimbsToABigKnee_WithinAFewAnswersPerStep()
    {
        var (controller, worker) = SyntheticWorker.Adaptive(new SyntheticBackend(8, SyntheticBackend.CurveOf(1.0)), cap: 16, _time);

        var limits = worker.Run(60);

        // Slow start doubles once a round: 2, 4 and 8 in flight answer in turn, 14 answers. One step per probe answer
        // took about 1 + 2 + … + 7 answers and a first window of 2; stepping up by windows of 2 × limit answers, 86.
        var reached = limits.IndexOf(8);
        Assert.InRange(reached, 0, 16);
        Assert.Equal(8, controller.Knee);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Probing_MakesOnlyTheProbeWait(int slots)
    {
        var (controller, worker) = SyntheticWorker.Adaptive(new SyntheticBackend(slots, SyntheticBackend.CurveOf(0.32)), cap: 16, _time);
        worker.Run(200);
        var probesBefore = controller.Probes;
        var answersBefore = worker.Answers.Count;

        var limits = worker.Run(2000);

        var probes = controller.Probes - probesBefore;
        var waited = worker.Answers.Skip(answersBefore).Where(a => a.QueueWait > TimeSpan.Zero).ToList();
        Assert.All(limits, l => Assert.Equal(slots, l));
        Assert.InRange(probes, 1, 60);
        // Every request that waited for a slot was a probe: one request each, never a queue.
        Assert.All(waited, a => Assert.True(a.Probe, $"a request that was no probe waited {a.QueueWait.TotalMilliseconds:F0} ms at {a.Time:F1} s"));
        Assert.Equal(probes, waited.Count);
    }

    [Fact]
    public void NeverExceedsTheCap()
    {
        var (controller, worker) = SyntheticWorker.Adaptive(new SyntheticBackend(8, SyntheticBackend.CurveOf(1.0)), cap: 3, _time);

        var limits = worker.Run(300);

        Assert.Equal(3, controller.Limit);
        Assert.All(limits, l => Assert.InRange(l, 1, 3));
    }

    [Fact]
    public void NoThroughputGain_StopsClimbing()
    {
        // Eight slots that share one compute unit perfectly: more in flight only adds latency.
        var (_, worker) = SyntheticWorker.Adaptive(new SyntheticBackend(8, SyntheticBackend.CurveOf(0.0)), cap: 16, _time);

        var limits = worker.Run(300);

        Assert.Equal(1, Settled(limits));
    }

    [Fact]
    public void BacksOff_WhenTheBackendServesFewerInParallel()
    {
        var backend = new SyntheticBackend(4, SyntheticBackend.CurveOf(0.32));
        var (_, worker) = SyntheticWorker.Adaptive(backend, cap: 16, _time);
        Assert.Equal(4, Settled(worker.Run(300)));

        backend.Slots = 2;

        Assert.Equal(2, Settled(worker.Run(300)));
    }

    [Fact]
    public void AStalledAnswerInAClimbsWindow_RefutesTheStep_ButDropsNoLowerThanTheKnee()
    {
        // A 32-slot GPU at its knee; a probe finds a slot free (here: the backend had one more for a moment), and the
        // limit steps to 33. One of the first 2 answers there reports a stall of a tenth of a service time: by Little's
        // law over those 2 answers, 33 in flight kept 30 slots busy, and the limit stayed at 30 for 16 s in the
        // benchmark. Two answers refute the step; they can't measure the slots below it.
        var (backend, controller, worker) = SteppedTo33OnAGpuOf32();

        backend.Slots = 32;
        backend.StallNext(2, 0.2 * SyntheticItem.City(0).SoloSeconds);
        worker.RunUntil(() => controller.Limit != 33, "the stalled answers refute the step");

        Assert.Equal(32, controller.Limit);
        Assert.Equal(32, controller.Knee);
    }

    [Fact]
    public void SlowAnswersInAClimbsWindows_DoNotStepBelowTheKnee()
    {
        // A 32-slot GPU at its knee gains a slot (another model unloaded), and a probe steps the limit to 33. The
        // machine stalls: the first requests sent there report a quarter more time per token. In the benchmark, two
        // windows of 2 such answers (2,680 items a second against the knee's 3,136) read as a step past a peak and
        // stepped the limit down to 31 and 30, where windows at limits 3% apart measured alike for minutes. Two
        // answers may refute a step by its wait; its gain, a full window judges.
        var (backend, controller, worker) = SteppedTo33OnAGpuOf32();

        backend.SlowNext(4, 1.25);
        var limits = worker.Run(1000);

        Assert.True(limits.Min() >= 33, $"the limit went down to {limits.Min()}: {string.Join(",", limits.Where((l, i) => i == 0 || l != limits[i - 1]))}");
        Assert.Equal(33, controller.Knee);
    }

    [Fact]
    public void HoldsTheKnee_WhenTheBackendSlowsDownUniformly()
    {
        // 3× slower per token, same slots: the right number in flight is unchanged.
        var backend = new SyntheticBackend(4, SyntheticBackend.CurveOf(0.32));
        var (_, worker) = SyntheticWorker.Adaptive(backend, cap: 16, _time);
        worker.Run(300);

        backend.Slowdown = 3;
        var limits = worker.Run(300);

        Assert.Equal(4, Settled(limits));
        Assert.All(limits.Skip(100), l => Assert.InRange(l, 3, 5));
    }

    [Fact]
    public void Probes_AndFindsAKneeThatMovedUp()
    {
        var backend = new SyntheticBackend(2, SyntheticBackend.CurveOf(0.32));
        var (_, worker) = SyntheticWorker.Adaptive(backend, cap: 16, _time);
        Assert.Equal(2, Settled(worker.Run(200)));

        backend.Slots = 6;

        Assert.Equal(6, Settled(worker.Run(1500)));
    }

    [Fact]
    public void RecoversAfterErrors()
    {
        var (controller, worker) = SyntheticWorker.Adaptive(new SyntheticBackend(4, SyntheticBackend.CurveOf(0.32)), cap: 16, _time);
        worker.Run(300);
        // Wait out a probe, so the halving below starts from the knee.
        worker.RunUntil(() => controller.Limit == 4, "back at the knee");

        controller.OnFailure(controller.OnSent(0));
        Assert.Equal(2, controller.Limit);
        controller.OnFailure(controller.OnSent(0));
        controller.OnFailure(controller.OnSent(0));
        Assert.Equal(1, controller.Limit);

        Assert.Equal(4, Settled(worker.Run(300)));
    }

    [Fact]
    public void FailuresTogether_HalveTheLimitOnce()
    {
        var backend = new SyntheticBackend(8, SyntheticBackend.CurveOf(1.0));
        var (controller, worker) = SyntheticWorker.Adaptive(backend, cap: 16, _time);
        worker.Run(300);
        // Wait out a probe, so the failures below hit exactly the limit's requests.
        worker.RunUntil(() => controller.Limit == 8 && backend.InFlight == 8, "8 in flight at the knee");

        // Ollama restarts: all eight requests in flight fail at once.
        worker.FailAll();
        Assert.Equal(4, controller.Limit);

        // The requests sent since were sent under the halved limit: their failure is news, and halves it again.
        Assert.Equal(4, backend.InFlight);
        worker.FailAll();
        Assert.Equal(2, controller.Limit);

        Assert.Equal(8, Settled(worker.Run(300)));
    }

    /// <summary>A 32-slot GPU at its knee, given a 33rd slot until a probe has stepped the limit to 33.</summary>
    private (SyntheticBackend Backend, AdaptiveConcurrencyController Controller, SyntheticWorker Worker) SteppedTo33OnAGpuOf32()
    {
        var backend = new SyntheticBackend(32, SyntheticBackend.CurveOf(0.9));
        var (controller, worker) = SyntheticWorker.Adaptive(backend, cap: 64, _time);
        worker.Run(2000);
        Assert.Equal(32, controller.Knee);
        backend.Slots = 33;
        worker.RunUntil(() => controller.Limit == 33, "a probe steps to 33");
        return (backend, controller, worker);
    }

    /// <summary>The limit it held most over the last 100 completions (probes step above the knee briefly).</summary>
    private static int Settled(List<int> limits) =>
        limits.TakeLast(100).GroupBy(l => l).OrderByDescending(g => g.Count()).First().Key;
}
