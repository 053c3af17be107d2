using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OllamaSim;
using OrleansLlm.Inference;
using OrleansLlm.Ollama;
using OrleansLlm.Options;
using OrleansLlm.Telemetry;

namespace OrleansLlm.Tests.Observability;

/// <summary>
/// Each way a real (simulated) Ollama can fail a call lands in one bounded reason class, the label of
/// <c>orleansllm_items_failed_total</c> and the <c>error.type</c> of the call's span and GenAI metrics.
/// </summary>
[Trait("Category", "Unit")]
public sealed class FailureReasonTests : IAsyncLifetime
{
    private SimulatorServer _simulator = null!;

    public static TheoryData<string, string> Faults => new()
    {
        { "error", FailureReasons.OllamaHttp5xx },
        { "unavailable", FailureReasons.OllamaHttp5xx },
        { "midstream-error", FailureReasons.OllamaHttp5xx },
        { "no-done", FailureReasons.OllamaBadResponse },
        { "model-deleted", FailureReasons.OllamaHttp4xx },
        { "hang", FailureReasons.Timeout },
        { "stopped", FailureReasons.OllamaUnreachable },
    };

    public async Task InitializeAsync() => _simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Parallel = 1, TimeScale = 0 });

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task EachFailure_HasItsReason_InTheGenAiMetrics(string fault, string reason)
    {
        switch (fault)
        {
            case "error": _simulator.UpdateFaults(f => f with { ErrorRate = 1 }); break;
            case "unavailable": _simulator.UpdateFaults(f => f with { UnavailableRate = 1 }); break;
            case "midstream-error": _simulator.UpdateFaults(f => f with { MidStreamErrorRate = 1 }); break;
            case "no-done": _simulator.UpdateFaults(f => f with { NoDoneRate = 1 }); break;
            case "hang": _simulator.UpdateFaults(f => f with { HangRate = 1 }); break;
            case "model-deleted": _simulator.DeleteModel("qwen2:1.5b"); break;
            case "stopped": await _simulator.StopAsync(); break;
        }

        using var services = new ServiceCollection().AddMetrics().AddSingleton<InferenceMetrics>().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        var errorTypes = new List<string?>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == factory && instrument.Name == "gen_ai.client.operation.duration")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
            errorTypes.Add(tags.ToArray().FirstOrDefault(t => t.Key == GenAiAttributes.ErrorType).Value as string));
        listener.Start();

        // Ollama:RequestTimeout, short only where the call is meant to run out of it.
        using var http = new HttpClient { BaseAddress = _simulator.Url, Timeout = fault == "hang" ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(30) };
        var generator = new OllamaBackend(http, Microsoft.Extensions.Options.Options.Create(new OllamaOptions()), services.GetRequiredService<InferenceMetrics>(), TimeProvider.System);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => generator.GenerateAsync(new InferenceRequest(generator.Model, "Who is the mayor of Paris?", Messages: null), CancellationToken.None));

        Assert.Equal(reason, BackendFailureReasons.Of(error));
        Assert.Equal([reason], errorTypes);
    }

    public async Task DisposeAsync() => await _simulator.DisposeAsync();
}
