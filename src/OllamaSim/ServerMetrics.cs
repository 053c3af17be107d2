namespace OllamaSim;

/// <summary>
/// <c>GET /metrics</c> in the OpenAI mode, as the chosen server names its metrics. The gauges are read from the
/// scheduler at the moment of the scrape (running = sequences holding a KV-cache slot, waiting = queued for one);
/// a real server updates them once per engine step, so it can lag by a step.
/// </summary>
internal static class ServerMetrics
{
    public static string Render(Simulator sim)
    {
        var (running, waiting) = sim.Scheduler.Occupancy;
        var tokens = sim.Tokens.Read();
        var kvUsage = (double)running / sim.Scheduler.Parallel;
        var model = sim.Models.List().FirstOrDefault()?.Name ?? SimulatorOptions.DefaultModel;
        return sim.Options.Flavor switch
        {
            ServerFlavor.Vllm => Vllm(model, running, waiting, kvUsage, tokens),
            ServerFlavor.Sglang => Sglang(model, running, waiting, kvUsage, tokens),
            ServerFlavor.LlamaCpp => LlamaCpp(running, waiting, tokens),
            _ => throw new InvalidOperationException($"flavor {sim.Options.Flavor} has no /metrics"),
        };
    }

    /// <summary>vllm/v1/metrics/loggers.py PrometheusStatLogger: labels model_name and engine, in that order; kv_cache_usage_perc since 0.9 (gpu_cache_usage_perc deprecated).</summary>
    private static string Vllm(string model, int running, int waiting, double kvUsage, ServedTokensSnapshot t)
    {
        var labels = $"{{model_name=\"{Escape(model)}\",engine=\"0\"}}";
        string Reason(string reason) => $"{{model_name=\"{Escape(model)}\",engine=\"0\",finished_reason=\"{reason}\"}}";
        return new PrometheusText(labels, floats: true)
            .Gauge("vllm:num_requests_running", "Number of requests in model execution batches.", running)
            .Gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", waiting)
            .Gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", kvUsage)
            .Counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.", t.PromptTokens)
            .Counter("vllm:generation_tokens_total", "Number of generation tokens processed.", t.GenerationTokens)
            .Counter("vllm:request_success_total", "Count of successfully processed requests.", [(Reason("stop"), t.Stopped), (Reason("length"), t.CutByLength)])
            .ToString();
    }

    /// <summary>python/sglang/srt/metrics/collector.py SchedulerMetricsCollector and TokenizerMetricsCollector.</summary>
    private static string Sglang(string model, int running, int waiting, double kvUsage, ServedTokensSnapshot t) =>
        new PrometheusText($"{{model_name=\"{Escape(model)}\"}}", floats: true)
            .Gauge("sglang:num_running_reqs", "The number of running requests.", running)
            .Gauge("sglang:num_queue_reqs", "The number of requests in the waiting queue.", waiting)
            .Gauge("sglang:token_usage", "The token usage.", kvUsage)
            .Counter("sglang:prompt_tokens_total", "Number of prefill tokens processed.", t.PromptTokens)
            .Counter("sglang:generation_tokens_total", "Number of generation tokens processed.", t.GenerationTokens)
            .ToString();

    /// <summary>llama.cpp tools/server (the /metrics handler in server-context.cpp): no labels; deferred = waiting for a slot.</summary>
    private static string LlamaCpp(int running, int waiting, ServedTokensSnapshot t) =>
        new PrometheusText("", floats: false)
            .Counter("llamacpp:prompt_tokens_total", "Number of prompt tokens processed.", t.PromptTokens)
            .Counter("llamacpp:prompt_seconds_total", "Prompt process time", t.PromptSeconds)
            .Counter("llamacpp:tokens_predicted_total", "Number of generation tokens processed.", t.GenerationTokens)
            .Counter("llamacpp:tokens_predicted_seconds_total", "Predict process time", t.GenerationSeconds)
            .Gauge("llamacpp:prompt_tokens_seconds", "Average prompt throughput in tokens/s.", PerSecond(t.PromptTokens, t.PromptSeconds))
            .Gauge("llamacpp:predicted_tokens_seconds", "Average generation throughput in tokens/s.", PerSecond(t.GenerationTokens, t.GenerationSeconds))
            .Gauge("llamacpp:requests_processing", "Number of requests processing.", running)
            .Gauge("llamacpp:requests_deferred", "Number of requests deferred.", waiting)
            .ToString();

    private static double PerSecond(long tokens, double seconds) => seconds > 0 ? tokens / seconds : 0;

    private static string Escape(string label) => label.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}
