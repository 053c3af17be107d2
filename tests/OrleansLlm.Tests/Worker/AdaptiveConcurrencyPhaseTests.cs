using Microsoft.Extensions.Time.Testing;
using OrleansLlm.Worker;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Worker;

/// <summary>The adaptive controller's phases, as the backend gives reason to move between them; each test prints the path.</summary>
[Trait("Category", "Unit")]
public sealed class AdaptiveConcurrencyPhaseTests(ITestOutputHelper output)
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void SlowStart_EndsSteadyAtTheSlots_AndABackendThatGrowsIsProbedUpToThem()
    {
        var backend = new SyntheticBackend(4, SyntheticBackend.CurveOf(0.9));
        var (controller, worker) = SyntheticWorker.Adaptive(backend, cap: 64, _time);
        Assert.Equal(ConcurrencyPhase.SlowStart, controller.Phase);

        var start = Path(controller, worker, 300);

        Assert.Equal([ConcurrencyPhase.SlowStart, ConcurrencyPhase.Steady], start.Take(2));
        Assert.Equal(4, controller.Knee);

        backend.Slots = 32;
        var growth = Path(controller, worker, 3000);

        Assert.Contains(ConcurrencyPhase.Probe, growth);
        Assert.DoesNotContain(ConcurrencyPhase.SlowStart, growth);
        Assert.Equal(32, controller.Knee);
    }

    [Fact]
    public void PastACliff_StepsDown_AndHoldsThePeakSteady()
    {
        // 16 slots whose throughput peaks at 6 in flight: slow start's doubling to 8 pays clearly less than the one
        // before, so it holds 8 and looks down from there.
        var curve = SyntheticBackend.CurveOf(0.9, cliffAt: 6, cliffSlope: 0.1);
        var (controller, worker) = SyntheticWorker.Adaptive(new SyntheticBackend(16, curve), cap: 16, _time);

        var path = Path(controller, worker, 1500);

        Assert.Equal(ConcurrencyPhase.SlowStart, path[0]);
        Assert.Contains(ConcurrencyPhase.StepDown, path);
        Assert.InRange(controller.Knee!.Value, 5, 7);
        Assert.Equal(ConcurrencyPhase.Steady, Held(controller, worker, 200));
    }

    [Fact]
    public void Errors_HalveTheLimit_AndSteadyDoublesBackToTheKnee()
    {
        var (controller, worker) = SyntheticWorker.Adaptive(new SyntheticBackend(8, SyntheticBackend.CurveOf(1.0)), cap: 16, _time);
        Path(controller, worker, 300);
        // Wait out a probe, so the halving starts from the knee.
        worker.RunUntil(() => controller.Limit == 8, "back at the knee");

        worker.FailAll();

        Assert.Equal((4, ConcurrencyPhase.Steady), (controller.Limit, controller.Phase));
        var path = Path(controller, worker, 300);
        Assert.DoesNotContain(ConcurrencyPhase.SlowStart, path);
        Assert.Equal(8, controller.Limit);
    }

    /// <summary>Runs <paramref name="answers"/> answers; returns the phases they went through, each once per visit.</summary>
    private List<ConcurrencyPhase> Path(AdaptiveConcurrencyController controller, SyntheticWorker worker, int answers)
    {
        var path = new List<ConcurrencyPhase> { controller.Phase };
        var limits = new List<string> { $"{controller.Phase} {controller.Limit}" };
        for (var i = 0; i < answers; i++)
        {
            worker.Run(1);
            if (controller.Phase != path[^1])
            {
                path.Add(controller.Phase);
                limits.Add($"{controller.Phase} {controller.Limit}");
            }
        }

        output.WriteLine($"{answers} answers: {string.Join(" → ", limits)}");
        return path;
    }

    /// <summary>The phase held for the most of the next <paramref name="answers"/> answers.</summary>
    private static ConcurrencyPhase Held(AdaptiveConcurrencyController controller, SyntheticWorker worker, int answers) =>
        Enumerable.Range(0, answers).Select(_ =>
        {
            worker.Run(1);
            return controller.Phase;
        }).GroupBy(p => p).MaxBy(g => g.Count())!.Key;
}
