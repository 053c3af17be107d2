using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;
using static OrleansLlm.Tests.Worker.LimitSeries;

namespace OrleansLlm.Tests.Worker;

/// <summary>
/// Slow start against every knee in a range, at a power of two or between two, in simulated time with noisy timings.
/// A backend is full at the first moment its knee is in flight (every slot busy), as the benchmark counts it. Each
/// test prints, per knee, the service times from the first answer until then, and until the limit was the knee.
/// </summary>
[Trait("Category", "Unit")]
public sealed class AdaptiveConcurrencyKneeTests(ITestOutputHelper output)
{
    private const double MaxServiceTimes = 5;

    [Theory]
    // A GPU: nearly perfectly parallel, so every slot up to 64 pays.
    [InlineData(0.9, 64, 0.15)]
    // A CPU (the simulator's default curve): a slot pays at least MinGain up to 32. A 6-slot one took 12.6 service
    // times: slow start stopped at 4 on a "bend" measured against a first doubling it never measured.
    [InlineData(0.32, 32, 0.0)]
    public void SlowStart_ReachesEveryKnee_WithinFiveServiceTimes(double exponent, int maxSlots, double noise)
    {
        var clock = Stopwatch.StartNew();
        var inFlight = new List<string>();
        var limit = new List<string>();
        var late = new List<string>();
        for (var slots = 2; slots <= maxSlots; slots++)
        {
            var (toInFlight, toLimit, trace) = ServiceTimesToTheKnee(exponent, noise, slots, cap: 2 * maxSlots);
            inFlight.Add(string.Create(CultureInfo.InvariantCulture, $"{slots}:{toInFlight:F1}"));
            limit.Add(string.Create(CultureInfo.InvariantCulture, $"{slots}:{toLimit:F1}"));
            if (!(toInFlight <= MaxServiceTimes))
            {
                late.Add(string.Create(CultureInfo.InvariantCulture, $"{slots} slots after {toInFlight:F1} service times: {trace}"));
            }
        }

        output.WriteLine($"e = {exponent}, service times from the first answer until the knee was in flight: {string.Join(" ", inFlight)}");
        output.WriteLine($"... until the limit was the knee: {string.Join(" ", limit)}");
        output.WriteLine($"{maxSlots - 1} knees in {clock.Elapsed.TotalSeconds:F2} s");
        Assert.True(late.Count == 0, $"later than {MaxServiceTimes} service times: {string.Join("; ", late)}");
    }

    /// <summary>
    /// Runs a backend with <paramref name="slots"/> slots for 20 service times; returns the service times (at
    /// the knee) from its first answer until the knee was first in flight, as the benchmark counts a backend full,
    /// and until the limit was the knee, with the limits it went through.
    /// </summary>
    private static (double ToInFlight, double ToLimit, string Limits) ServiceTimesToTheKnee(double exponent, double noise, int slots, int cap)
    {
        var backend = new SyntheticBackend(slots, SyntheticBackend.CurveOf(exponent));
        if (noise > 0)
        {
            // Every answer's generation time off by up to ± noise, as on a loaded machine; a seed per knee.
            backend.AddMeasurementNoise(noise, seed: slots);
        }
        var (controller, worker) = SyntheticWorker.Adaptive(backend, cap, new FakeTimeProvider());
        double? inFlightAt = controller.InFlightAllowed >= slots ? 0 : null;
        // A CPU's requests at 32 in flight take 10 times as long as alone; 20 service times at the knee are enough.
        var serviceAtTheKnee = SyntheticItem.City(0).SoloSeconds * slots / backend.Curve.Aggregate(slots);
        while (backend.Now < 20 * serviceAtTheKnee)
        {
            // The worker fills up to what the controller allows as soon as an answer is in.
            worker.Run(1);
            inFlightAt ??= controller.InFlightAllowed >= slots ? backend.Now : null;
        }

        var answers = worker.Answers;
        var service = Median(answers.Skip(answers.Count / 2).Select(a => a.Service.TotalSeconds));
        var first = answers[0].Time;
        var limitAt = answers.FirstOrDefault(a => a.Limit >= slots)?.Time;
        var limits = string.Join(",", answers.Select(a => a.Limit).Where((l, i) => i == 0 || l != answers[i - 1].Limit));
        return (ServiceTimes(inFlightAt), ServiceTimes(limitAt), $"limits {limits}; knee {controller.Knee}");

        double ServiceTimes(double? at) => at is { } t ? Math.Max(0, t - first) / service : double.PositiveInfinity;
    }
}
