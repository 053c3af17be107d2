using OllamaSim;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>
/// The silo settings that point a silo at a simulator: <c>Ollama:Url</c> for one in Ollama mode, the <c>Backend</c>
/// section for one in OpenAI mode (the same keys a deployment sets), so a test runs on either by choosing the simulator's API.
/// </summary>
public static class SimulatorBackend
{
    public static Dictionary<string, string?> SettingsFor(SimulatorServer simulator) => simulator.Options.Api == SimulatorApi.OpenAI
        ? new()
        {
            ["Backend:Kind"] = "OpenAi",
            ["Backend:Url"] = simulator.Url.ToString(),
            ["Backend:Model"] = simulator.Options.EffectiveModels[0],
            ["Backend:ApiKey"] = simulator.Options.ApiKey,
        }
        : new() { ["Ollama:Url"] = simulator.Url.ToString() };
}
