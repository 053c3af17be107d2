using System.Diagnostics;
using System.Diagnostics.Metrics;
using OrleansLlm.Telemetry;

namespace OrleansLlm.Inference;

/// <summary>
/// What this silo's calls to its model server cost (<c>orleansllm_ollama_*</c>), from the figures each answer's
/// <see cref="Generation"/> carries, and the OpenTelemetry semantic-convention instruments for GenAI clients
/// (<c>gen_ai.client.*</c>).
/// </summary>
/// <remarks>
/// Ollama has no metrics of its own, so these are the only view of it: in particular the queue wait, the part of
/// <c>total_duration</c> that is not load, prompt or eval, shows when a silo sends more than its Ollama serves at once.
/// An OpenAI-compatible backend records here too, with the wait its <see cref="Generation.Signal"/> gives. The names
/// still say <c>ollama</c> because Ollama was the first backend and dashboards, alerts and the benchmarks select on
/// them; the <c>gen_ai.provider.name</c> label tells the backends apart.
/// </remarks>
public sealed class InferenceMetrics
{
    // From 5 ms to 10 minutes: a GPU answers in a fraction of a second, a CPU model can take minutes.
    private static readonly IReadOnlyList<double> SecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    // The bucket boundaries the GenAI semantic conventions advise for these two instruments.
    private static readonly IReadOnlyList<double> OperationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    private static readonly IReadOnlyList<long> TokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    private static readonly KeyValuePair<string, object?> PromptTokens = new("type", "prompt");
    private static readonly KeyValuePair<string, object?> CompletionTokens = new("type", "completion");

    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<double> _queueWait;
    private readonly Histogram<double> _loadDuration;
    private readonly Counter<long> _tokens;
    private readonly Counter<double> _busy;
    private readonly Histogram<double> _operationDuration;
    private readonly Histogram<long> _tokenUsage;

    public InferenceMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(OrleansLlmTelemetry.MeterName);
        // The Prometheus exporter appends the unit ("_seconds") to these names.
        _requestDuration = meter.CreateHistogram("orleansllm_ollama_request_duration", "s",
            "Duration of this silo's Ollama calls, failed ones included, as the silo saw them.", advice: Seconds());
        _queueWait = meter.CreateHistogram("orleansllm_ollama_queue_wait", "s",
            "Time answered requests waited inside Ollama for a free slot: total_duration less load, prompt and eval.", advice: Seconds());
        _loadDuration = meter.CreateHistogram("orleansllm_ollama_load_duration", "s",
            "Time answered requests waited for Ollama to load the model (load_duration).", advice: Seconds());
        _tokens = meter.CreateCounter<long>("orleansllm_ollama_tokens", "{token}", "Tokens of answered requests, by type: prompt or completion.");
        _busy = meter.CreateCounter<double>("orleansllm_ollama_busy", "s",
            "Slot-seconds Ollama spent computing this silo's answered requests (prompt_eval_duration + eval_duration).");

        _operationDuration = meter.CreateHistogram("gen_ai.client.operation.duration", "s", "GenAI operation duration.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = OperationBuckets });
        _tokenUsage = meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Measures number of input and output tokens used.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBuckets });

        _tokens.Add(0, PromptTokens);
        _tokens.Add(0, CompletionTokens);
        _busy.Add(0);
    }

    /// <summary>An answer, with the figures the server reported.</summary>
    /// <param name="provider">The <c>gen_ai.provider.name</c>: <see cref="GenAiAttributes.Ollama"/> or <see cref="GenAiAttributes.OpenAiCompatible"/>.</param>
    public void Answered(Generation generation, TimeSpan elapsed, string model, Uri server, string provider = GenAiAttributes.Ollama)
    {
        _requestDuration.Record(elapsed.TotalSeconds);
        _queueWait.Record(generation.QueueWait.TotalSeconds);
        _loadDuration.Record(generation.LoadDuration.TotalSeconds);
        _tokens.Add(generation.PromptEvalCount, PromptTokens);
        _tokens.Add(generation.EvalCount, CompletionTokens);
        _busy.Add(generation.ServiceTime.TotalSeconds);

        var tags = GenAiTags(model, server, provider);
        _operationDuration.Record(elapsed.TotalSeconds, tags);
        tags.Add(GenAiAttributes.TokenType, "input");
        _tokenUsage.Record(generation.PromptEvalCount, tags);
        tags[tags.Count - 1] = new(GenAiAttributes.TokenType, "output");
        _tokenUsage.Record(generation.EvalCount, tags);
    }

    /// <summary>A call that ended without an answer.</summary>
    /// <param name="reason">One of <see cref="FailureReasons"/>, the GenAI <c>error.type</c>.</param>
    public void Failed(TimeSpan elapsed, string model, Uri server, string reason, string provider = GenAiAttributes.Ollama)
    {
        _requestDuration.Record(elapsed.TotalSeconds);
        var tags = GenAiTags(model, server, provider);
        tags.Add(GenAiAttributes.ErrorType, reason);
        _operationDuration.Record(elapsed.TotalSeconds, tags);
    }

    private static TagList GenAiTags(string model, Uri server, string provider) => new()
    {
        { GenAiAttributes.OperationName, GenAiAttributes.TextCompletion },
        { GenAiAttributes.ProviderName, provider },
        { GenAiAttributes.RequestModel, model },
        { GenAiAttributes.ServerAddress, server.Host },
        { GenAiAttributes.ServerPort, server.Port },
    };

    private static InstrumentAdvice<double> Seconds() => new() { HistogramBucketBoundaries = SecondsBuckets };
}
