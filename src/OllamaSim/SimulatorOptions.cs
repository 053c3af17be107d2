using System.Globalization;

namespace OllamaSim;

/// <summary>Everything that configures one simulator instance. Set from the command line or in-process.</summary>
public sealed class SimulatorOptions
{
    public const string DefaultModel = "qwen2:1.5b";

    private double? _scalingExponent;

    /// <summary>Number of request slots, like OLLAMA_NUM_PARALLEL. Requests beyond it wait in a FIFO queue. Default: 1.</summary>
    public int Parallel { get; set; } = 1;

    /// <summary>The HTTP API served. Default: <see cref="SimulatorApi.Ollama"/>.</summary>
    public SimulatorApi Api { get; set; } = SimulatorApi.Ollama;

    /// <summary>With <see cref="SimulatorApi.OpenAI"/>: which server's metrics and timings it shows. Default: <see cref="ServerFlavor.Vllm"/>.</summary>
    public ServerFlavor Flavor { get; set; } = ServerFlavor.Vllm;

    /// <summary>
    /// With <see cref="SimulatorApi.OpenAI"/>: how many sequences fit in the KV cache. They compute together (continuous
    /// batching); more wait FIFO. Null: as many as <see cref="MaxNumSeqs"/>. <see cref="Parallel"/> is not used then.
    /// </summary>
    public int? KvSeqs { get; set; }

    /// <summary>With <see cref="SimulatorApi.OpenAI"/>: vLLM's <c>--max-num-seqs</c>, the scheduler's cap on running sequences. Default: 256.</summary>
    public int MaxNumSeqs { get; set; } = 256;

    /// <summary>With <see cref="SimulatorApi.OpenAI"/>: like vLLM's <c>--api-key</c>, /v1 requests need <c>Authorization: Bearer</c> it. Default: none.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Sequences that compute at once: <see cref="Parallel"/> for Ollama, min(<see cref="KvSeqs"/>, <see cref="MaxNumSeqs"/>) for OpenAI.</summary>
    public int Slots => Api == SimulatorApi.OpenAI ? Math.Min(KvSeqs ?? MaxNumSeqs, MaxNumSeqs) : Parallel;

    /// <summary>1 ≈ real CPU speed, 0.01 = 100× faster, 0 = no model delay at all. Default: 1.</summary>
    public double TimeScale { get; set; } = 1;

    /// <summary>Speed multiplier of the simulated hardware (2 = twice as fast). Changeable at runtime. Default: 1.</summary>
    public double Speed { get; set; } = 1;

    /// <summary>
    /// Aggregate throughput with k busy slots is k^e times the solo throughput (up to <see cref="CliffAt"/>).
    /// 0.32 matches the CPU workshop measurements; 1.0 is perfectly parallel (a GPU with room to spare).
    /// Default: 0.32 with <see cref="SimulatorApi.Ollama"/>, 0.9 with <see cref="SimulatorApi.OpenAI"/> (a GPU batching).
    /// </summary>
    public double ScalingExponent
    {
        get => _scalingExponent ?? (Api == SimulatorApi.OpenAI ? 0.9 : 0.32);
        set => _scalingExponent = value;
    }

    /// <summary>
    /// K: past this many computing slots aggregate throughput falls by <see cref="CliffSlope"/> a slot instead of
    /// growing as k^e; see <see cref="CapacityCurve"/>. Default: null (no cliff).
    /// </summary>
    public int? CliffAt { get; set; }

    /// <summary>S: share of aggregate(K) lost with each computing slot past <see cref="CliffAt"/>. Default: 0 (flat past K).</summary>
    public double CliffSlope { get; set; }

    /// <summary>Least share of aggregate(K) left past the cliff, however many slots compute. Default: 0.1.</summary>
    public double CliffFloor { get; set; } = 0.1;

    /// <summary>Pre-pulled models. Empty means the default, <see cref="DefaultModel"/>.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>Seed for fault injection; null picks a random seed. Default: null.</summary>
    public int? Seed { get; set; }

    /// <summary>How many recent requests GET /sim/requests keeps; older ones are dropped and counted. 0 records none. Default: 1000.</summary>
    public int RequestLogCapacity { get; set; } = 1000;

    /// <summary>Initial fault injection settings; change at runtime through <see cref="SimulatorServer.SetFaults"/>. Default: none.</summary>
    public FaultOptions Faults { get; set; } = new();

    /// <summary>Clock for the capacity model and reported durations; tests can inject a fake one. Default: the system clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The model names to start with: normalised to name:tag for Ollama, exactly as given for OpenAI (vLLM matches served names exactly).</summary>
    public IReadOnlyList<string> EffectiveModels =>
        (Models.Count == 0 ? [DefaultModel] : Models).Select(ModelKey).Distinct().ToList();

    /// <summary>How the model registry keys a name under this API.</summary>
    internal Func<string, string> ModelKey => Api == SimulatorApi.OpenAI ? static n => n.Trim() : ModelName.Normalize;

    /// <summary>The capacity curve these options describe.</summary>
    public CapacityCurve Curve => new()
    {
        ScalingExponent = ScalingExponent,
        CliffAt = CliffAt,
        CliffSlope = CliffSlope,
        CliffFloor = CliffFloor,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Parallel < 1)
        {
            throw new ArgumentException($"parallel must be at least 1 (got {Parallel})");
        }

        if (!double.IsFinite(TimeScale) || TimeScale < 0)
        {
            throw new ArgumentException($"time-scale must be a finite number >= 0 (got {Format(TimeScale)})");
        }

        if (!double.IsFinite(Speed) || Speed <= 0)
        {
            throw new ArgumentException($"speed must be a finite number > 0 (got {Format(Speed)})");
        }

        Curve.Validate();
        ValidateOpenAI();

        if (RequestLogCapacity < 0)
        {
            throw new ArgumentException($"request-log-size must not be negative (got {RequestLogCapacity})");
        }

        if (Models.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("model names must not be empty");
        }

        Faults.Validate();
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"api={Api} {(Api == SimulatorApi.OpenAI ? $"flavor={Flavor} kv-seqs={KvSeqs?.ToString(CultureInfo.InvariantCulture) ?? "-"} max-num-seqs={MaxNumSeqs} api-key={(ApiKey is null ? "none" : "set")}" : $"parallel={Parallel}")} " +
            $"time-scale={TimeScale} speed={Speed} {Curve} " +
            $"models=[{string.Join(", ", EffectiveModels)}] seed={(Seed?.ToString(CultureInfo.InvariantCulture) ?? "random")} " +
            $"request-log-size={RequestLogCapacity} {Faults}");

    private void ValidateOpenAI()
    {
        if (Api == SimulatorApi.Ollama && (KvSeqs is not null || ApiKey is not null))
        {
            // Ollama has neither: saying so beats silently serving without the limit or the key asked for.
            throw new ArgumentException("kv-seqs and api-key need --api openai");
        }

        if (KvSeqs < 1)
        {
            throw new ArgumentException($"kv-seqs must be at least 1 (got {KvSeqs})");
        }

        if (MaxNumSeqs < 1)
        {
            throw new ArgumentException($"max-num-seqs must be at least 1 (got {MaxNumSeqs})");
        }

        if (ApiKey is { } key && string.IsNullOrWhiteSpace(key))
        {
            throw new ArgumentException("api-key must not be empty");
        }

        if (!Enum.IsDefined(Api) || !Enum.IsDefined(Flavor))
        {
            throw new ArgumentException($"unknown api '{Api}' or flavor '{Flavor}'");
        }
    }

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
