using Microsoft.Extensions.Time.Testing;
using OrleansLlm.Ollama;
using OrleansLlm.Options;
using OrleansLlm.Worker;

namespace OrleansLlm.Tests.Worker;

/// <summary>The adaptive controller against synthetic backends with known knees.</summary>
public sealed class AdaptiveConcurrencyControllerTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly Queue<(ConcurrencyTicket Ticket, int InFlightAtSend)> _inFlight = new();

    /// <summary>Requests that waited inside the backend for a slot.</summary>
    private int Queued { get; set; }

    [Theory]
    [InlineData(1, 0.32)]
    [InlineData(2, 0.32)]
    [InlineData(4, 0.32)]
    [InlineData(8, 1.0)]
    public void ConvergesUpFromOne_ToTheKnee(int slots, double exponent)
    {
        var backend = new SyntheticBackend(slots, exponent);
        var controller = Controller(cap: 16);
        Assert.Equal(1, controller.Limit);

        var limits = Drive(controller, backend, completions: 400);

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
        var controller = Controller(cap: 16);

        var limits = Drive(controller, new SyntheticBackend(slots: 8, exponent: 1.0), completions: 60);

        // Each step waits for one probe answer, i.e. one service time, in which the limit's requests answer too:
        // 1 + 2 + … + 7 answers, and a first window of 2. Stepping up by windows of 2 × limit answers took 86.
        var reached = limits.IndexOf(8);
        Assert.InRange(reached, 0, 40);
        Assert.Equal(8, controller.Knee);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Probing_MakesOnlyTheProbeWait(int slots)
    {
        var backend = new SyntheticBackend(slots, exponent: 0.32);
        var controller = Controller(cap: 16);
        Drive(controller, backend, completions: 200);
        Queued = 0;
        var probesBefore = controller.Probes;

        var limits = Drive(controller, backend, completions: 2000);

        var probes = controller.Probes - probesBefore;
        Assert.All(limits, l => Assert.Equal(slots, l));
        Assert.InRange(probes, 1, 60);
        // Every request that waited for a slot was a probe: one request each, never a queue.
        Assert.Equal(probes, Queued);
    }

    [Fact]
    public void NeverExceedsTheCap()
    {
        var controller = Controller(cap: 3);

        var limits = Drive(controller, new SyntheticBackend(slots: 8, exponent: 1.0), completions: 300);

        Assert.Equal(3, controller.Limit);
        Assert.All(limits, l => Assert.InRange(l, 1, 3));
    }

    [Fact]
    public void NoThroughputGain_StopsClimbing()
    {
        // Eight slots that share one compute unit perfectly: more in flight only adds latency.
        var controller = Controller(cap: 16);

        var limits = Drive(controller, new SyntheticBackend(slots: 8, exponent: 0.0), completions: 300);

        Assert.Equal(1, Settled(limits));
    }

    [Fact]
    public void BacksOff_WhenTheBackendServesFewerInParallel()
    {
        var backend = new SyntheticBackend(slots: 4, exponent: 0.32);
        var controller = Controller(cap: 16);
        Assert.Equal(4, Settled(Drive(controller, backend, completions: 300)));

        backend.Slots = 2;

        Assert.Equal(2, Settled(Drive(controller, backend, completions: 300)));
    }

    [Fact]
    public void HoldsTheKnee_WhenTheBackendSlowsDownUniformly()
    {
        // 3× slower per token, same slots: the right number in flight is unchanged.
        var backend = new SyntheticBackend(slots: 4, exponent: 0.32);
        var controller = Controller(cap: 16);
        Drive(controller, backend, completions: 300);

        backend.Slowdown = 3;
        var limits = Drive(controller, backend, completions: 300);

        Assert.Equal(4, Settled(limits));
        Assert.All(limits.Skip(100), l => Assert.InRange(l, 3, 5));
    }

    [Fact]
    public void Probes_AndFindsAKneeThatMovedUp()
    {
        var backend = new SyntheticBackend(slots: 2, exponent: 0.32);
        var controller = Controller(cap: 16);
        Assert.Equal(2, Settled(Drive(controller, backend, completions: 200)));

        backend.Slots = 6;

        Assert.Equal(6, Settled(Drive(controller, backend, completions: 1500)));
    }

    [Fact]
    public void RecoversAfterErrors()
    {
        var backend = new SyntheticBackend(slots: 4, exponent: 0.32);
        var controller = Controller(cap: 16);
        Drive(controller, backend, completions: 300);
        while (controller.Limit != 4)
        {
            // Wait out a probe, so the halving below starts from the knee.
            Drive(controller, backend, completions: 1);
        }

        controller.OnFailure(controller.OnSent(0));
        Assert.Equal(2, controller.Limit);
        controller.OnFailure(controller.OnSent(0));
        controller.OnFailure(controller.OnSent(0));
        Assert.Equal(1, controller.Limit);

        Assert.Equal(4, Settled(Drive(controller, backend, completions: 300)));
    }

    /// <summary>The limit it held most over the last 100 completions (probes step above the knee briefly).</summary>
    private static int Settled(List<int> limits) =>
        limits.TakeLast(100).GroupBy(l => l).OrderByDescending(g => g.Count()).First().Key;

    private AdaptiveConcurrencyController Controller(int cap) =>
        new(Microsoft.Extensions.Options.Options.Create(new WorkerOptions { MaxConcurrency = cap }), _time);

    /// <summary>
    /// Feeds the controller completions from the backend, keeping in flight what it allows and completing the oldest
    /// request first (FIFO); returns the limit after each completion.
    /// </summary>
    private List<int> Drive(AdaptiveConcurrencyController controller, SyntheticBackend backend, int completions)
    {
        var limits = new List<int>();
        for (var i = 0; i < completions; i++)
        {
            while (_inFlight.Count < controller.InFlightAllowed)
            {
                var ticket = controller.OnSent(_inFlight.Count);
                _inFlight.Enqueue((ticket, _inFlight.Count + 1));
            }

            var (sent, inFlightAtSend) = _inFlight.Dequeue();
            var generation = backend.Complete(inFlightAtSend, outputTokens: 3 + (i % 7));
            if (generation.QueueWait > TimeSpan.Zero)
            {
                Queued++;
            }

            _time.Advance(generation.TotalDuration / Math.Max(1, _inFlight.Count + 1));
            controller.OnSuccess(sent, generation);
            limits.Add(controller.Limit);
        }

        return limits;
    }

    /// <summary>
    /// A backend like the simulator: <see cref="Slots"/> parallel slots whose aggregate speed grows as
    /// busy^exponent, and a FIFO queue in front (requests beyond the slots wait about one service time per round).
    /// </summary>
    private sealed class SyntheticBackend(int slots, double exponent)
    {
        public int Slots { get; set; } = slots;

        public double Slowdown { get; set; } = 1;

        public Generation Complete(int inFlight, int outputTokens)
        {
            var busy = Math.Min(inFlight, Slots);
            var secondsPerToken = 0.1 * Slowdown * Math.Pow(busy, 1 - exponent);
            var eval = TimeSpan.FromSeconds(outputTokens * secondsPerToken);
            var prompt = TimeSpan.FromSeconds(10 * secondsPerToken);
            var waitingRounds = (inFlight - busy) / (double)busy;
            var queueWait = (prompt + eval) * waitingRounds;
            return new Generation("x", queueWait + prompt + eval, outputTokens, eval, TimeSpan.Zero, prompt);
        }
    }
}
