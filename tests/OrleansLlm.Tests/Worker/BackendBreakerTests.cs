using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using OllamaSim;
using OrleansLlm.Inference;
using OrleansLlm.Ollama;
using OrleansLlm.Options;
using OrleansLlm.Telemetry;
using OrleansLlm.Tests.Infrastructure;
using OrleansLlm.Worker;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace OrleansLlm.Tests.Worker;

/// <summary>
/// Whose fault a failed call was, judged by the worker's slots and breaker against a real (simulated) Ollama, with
/// the breaker's clock in the test's hands: an item spends an attempt only for a failure of its own.
/// </summary>
[Trait("Category", "Unit")]
public sealed class BackendBreakerTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = FakeClock.Now();
    private readonly WorkerOptions _worker = new();
    private SimulatorServer _simulator = null!;
    private ServiceProvider _services = null!;
    private HttpClient _http = null!;
    private CallSlots _slots = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Parallel = 4, TimeScale = 0 });
        _services = new ServiceCollection().AddMetrics().AddSingleton<InferenceMetrics>().BuildServiceProvider();
        _http = new HttpClient { BaseAddress = _simulator.Url };
        // A hung Ollama fails its probe in 2 s of real time (the repaired one passes well within them).
        var ollama = new OllamaBackend(_http, MsOptions.Create(new OllamaOptions { ProbeTimeout = TimeSpan.FromSeconds(2) }), _services.GetRequiredService<InferenceMetrics>(), TimeProvider.System);
        var options = MsOptions.Create(_worker);
        var state = new LocalWorkerState(options, new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance), _time, NullLogger<LocalWorkerState>.Instance);
        var breaker = new BackendBreaker(ollama, options, state, _time, NullLogger<BackendBreaker>.Instance);
        _slots = new CallSlots(new FixedConcurrencyController(options), breaker, _time);
    }

    [Fact]
    public async Task ACallOutWhileTheBreakerOpened_FailsWithItsBackend_EvenAfterTheBackendRecovered()
    {
        _simulator.UpdateFaults(f => f with { HangRate = 1 });
        var first = _slots.Take("first");
        _time.Advance(TimeSpan.FromSeconds(1));
        // Sent while the first call hung and before anyone knew: its own timeout comes long after.
        var second = _slots.Take("second");

        _slots.Free(first);
        var firstJudged = await _slots.JudgeAsync(first, TimedOut(), CancellationToken.None);
        Assert.IsType<ItemOutcome.BackendFault>(firstJudged);
        Assert.True(_slots.BackendBroken, "a hung backend fails its probe, so the breaker opens");

        _simulator.UpdateFaults(_ => new FaultOptions());
        var closing = _slots.WaitForFreeAsync(TimeSpan.FromSeconds(1), CancellationToken.None);
        _time.Advance(_worker.BackendProbeMinDelay);
        await closing;
        Assert.False(_slots.BackendBroken, "the repaired backend passes the next probe");

        _time.Advance(TimeSpan.FromSeconds(1));
        _slots.Free(second);
        var secondJudged = await _slots.JudgeAsync(second, TimedOut(), CancellationToken.None);

        Assert.IsType<ItemOutcome.BackendFault>(secondJudged);
        Assert.False(_slots.BackendBroken, "an old episode's last timeout does not open the breaker again");

        // The contrast: a call sent once the backend recovered, failing while the backend serves, is the item's fault.
        var third = _slots.Take("third");
        _time.Advance(TimeSpan.FromSeconds(1));
        _slots.Free(third);
        var thirdJudged = await _slots.JudgeAsync(third, TimedOut(), CancellationToken.None);
        Assert.IsType<ItemOutcome.Failed>(thirdJudged);
        Assert.False(_slots.BackendBroken);
    }

    private static ItemOutcome.BackendFault TimedOut() =>
        new("Ollama did not answer within 3 s", Certain: false, TimeSpan.FromSeconds(1), FailureReasons.Timeout);

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _services.DisposeAsync();
        await _simulator.DisposeAsync();
    }
}
