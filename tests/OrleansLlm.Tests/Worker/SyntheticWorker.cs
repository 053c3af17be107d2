using Microsoft.Extensions.Time.Testing;
using OrleansLlm.Options;
using OrleansLlm.Worker;

namespace OrleansLlm.Tests.Worker;

/// <summary>
/// Drives a controller against a <see cref="SyntheticBackend"/> as the worker grain does: it keeps
/// <see cref="IConcurrencyController.InFlightAllowed"/> requests in flight, takes a ticket for each, hands each
/// answer back, and keeps the controller's clock on the backend's simulated time.
/// </summary>
internal sealed class SyntheticWorker(IConcurrencyController controller, SyntheticBackend backend, FakeTimeProvider time)
{
    private readonly DateTimeOffset _start = time.GetUtcNow();
    private int _sent;

    /// <summary>The adaptive controller, capped at <paramref name="cap"/>, driving <paramref name="backend"/>.</summary>
    public static (AdaptiveConcurrencyController Controller, SyntheticWorker Worker) Adaptive(SyntheticBackend backend, int cap, FakeTimeProvider time)
    {
        var controller = new AdaptiveConcurrencyController(
            Microsoft.Extensions.Options.Options.Create(new WorkerOptions { MaxConcurrency = cap }), time);
        return (controller, new SyntheticWorker(controller, backend, time));
    }

    /// <summary>Every answer so far, in order.</summary>
    public List<SyntheticAnswer> Answers { get; } = [];

    /// <summary>Answers until <paramref name="answers"/> more are in; returns the limit after each.</summary>
    public List<int> Run(int answers)
    {
        var limits = new List<int>(answers);
        for (var i = 0; i < answers; i++)
        {
            limits.Add(Step().Limit);
        }

        return limits;
    }

    /// <summary>Answers until the simulated clock passes <paramref name="seconds"/>.</summary>
    public void RunUntil(double seconds)
    {
        while (backend.Now < seconds)
        {
            Step();
        }
    }

    /// <summary>
    /// Answers one at a time until <paramref name="reached"/> holds; fails the test if it does not within
    /// <paramref name="maxAnswers"/>, so a regression fails rather than hangs (the clock is simulated, not the loop).
    /// </summary>
    public void RunUntil(Func<bool> reached, string what, int maxAnswers = 10_000)
    {
        for (var i = 0; !reached(); i++)
        {
            if (i == maxAnswers)
            {
                throw new Xunit.Sdk.XunitException($"{what}: not reached within {maxAnswers} answers (limit {controller.Limit}).");
            }

            Step();
        }
    }

    /// <summary>Every request in flight fails at once (Ollama crashed); the controller hears of each.</summary>
    public void FailAll()
    {
        foreach (var ticket in backend.FailAll())
        {
            controller.OnFailure(ticket);
        }

        Fill();
    }

    /// <summary>The limit in force at each multiple of <paramref name="interval"/> seconds up to <paramref name="until"/>.</summary>
    public List<int> LimitsEvery(double interval, double until)
    {
        var samples = new List<int>();
        var limit = Answers.Count > 0 ? Answers[0].LimitBefore : controller.Limit;
        var next = 0;
        for (var t = interval; t <= until + 1e-9; t += interval)
        {
            while (next < Answers.Count && Answers[next].Time <= t)
            {
                limit = Answers[next++].Limit;
            }

            samples.Add(limit);
        }

        return samples;
    }

    private SyntheticAnswer Step()
    {
        Fill();
        var before = controller.Limit;
        var (ticket, generation) = backend.NextAnswer();
        time.SetUtcNow(_start + TimeSpan.FromSeconds(backend.Now));
        controller.OnSuccess(ticket, generation);
        var answer = new SyntheticAnswer(backend.Now, before, controller.Limit, ticket.Probe, generation.QueueWait, generation.ServiceTime, backend.LastWait);
        Answers.Add(answer);
        return answer;
    }

    private void Fill()
    {
        while (backend.InFlight < controller.InFlightAllowed)
        {
            var ticket = controller.OnSent(backend.InFlight);
            backend.Submit(ticket, SyntheticItem.City(_sent++));
        }
    }
}
