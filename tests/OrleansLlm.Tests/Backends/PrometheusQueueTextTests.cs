using OrleansLlm.OpenAiCompatible;

namespace OrleansLlm.Tests.Backends;

/// <summary>
/// The waiting and running counts read from each server's <c>/metrics</c>, in the text each server writes (the shapes
/// of vllm/v1/metrics/loggers.py, sglang's metrics/collector.py and llama.cpp's tools/server, as Prometheus' client
/// libraries print them).
/// </summary>
[Trait("Category", "Unit")]
public sealed class PrometheusQueueTextTests
{
    // Two engines (data parallel): vLLM labels each engine's gauges, and the server's queue is their sum.
    private const string Vllm = """
        # HELP vllm:num_requests_running Number of requests in model execution batches.
        # TYPE vllm:num_requests_running gauge
        vllm:num_requests_running{engine="0",model_name="Qwen/Qwen2-1.5B-Instruct"} 48.0
        vllm:num_requests_running{engine="1",model_name="Qwen/Qwen2-1.5B-Instruct"} 40.0
        # HELP vllm:num_requests_waiting Number of requests waiting to be processed.
        # TYPE vllm:num_requests_waiting gauge
        vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen2-1.5B-Instruct"} 7.0
        vllm:num_requests_waiting{engine="1",model_name="Qwen/Qwen2-1.5B-Instruct"} 1.0
        # HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
        # TYPE vllm:kv_cache_usage_perc gauge
        vllm:kv_cache_usage_perc{engine="0",model_name="Qwen/Qwen2-1.5B-Instruct"} 0.98
        # HELP vllm:request_success_total Count of successfully processed requests.
        # TYPE vllm:request_success_total counter
        vllm:request_success_total{engine="0",finished_reason="stop",model_name="Qwen/Qwen2-1.5B-Instruct"} 1234.0
        """;

    private const string Sglang = """
        # HELP sglang:num_running_reqs The number of running requests.
        # TYPE sglang:num_running_reqs gauge
        sglang:num_running_reqs{model_name="meta-llama/Llama-3.1-8B-Instruct"} 12.0
        # HELP sglang:num_queue_reqs The number of requests in the waiting queue.
        # TYPE sglang:num_queue_reqs gauge
        sglang:num_queue_reqs{model_name="meta-llama/Llama-3.1-8B-Instruct"} 4.0
        # HELP sglang:token_usage The token usage.
        # TYPE sglang:token_usage gauge
        sglang:token_usage{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.52
        """;

    // llama-server --metrics: no labels, integers.
    private const string LlamaCpp = """
        # HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.
        # TYPE llamacpp:prompt_tokens_total counter
        llamacpp:prompt_tokens_total 33065
        # HELP llamacpp:predicted_tokens_seconds Average generation throughput in tokens/s.
        # TYPE llamacpp:predicted_tokens_seconds gauge
        llamacpp:predicted_tokens_seconds nan
        # HELP llamacpp:requests_processing Number of requests processing.
        # TYPE llamacpp:requests_processing gauge
        llamacpp:requests_processing 4
        # HELP llamacpp:requests_deferred Number of requests deferred.
        # TYPE llamacpp:requests_deferred gauge
        llamacpp:requests_deferred 46
        """;

    [Fact]
    public void Vllm_GaugesOfEveryEngine_AreSummed() =>
        Assert.Equal(new QueueGauge("vllm", 8, 88), PrometheusQueueText.Read(Vllm));

    [Fact]
    public void Sglang_QueueAndRunningRequests() =>
        Assert.Equal(new QueueGauge("sglang", 4, 12), PrometheusQueueText.Read(Sglang));

    [Fact]
    public void LlamaCpp_DeferredAndProcessing_ANanElsewhereIgnored() =>
        Assert.Equal(new QueueGauge("llamacpp", 46, 4), PrometheusQueueText.Read(LlamaCpp));

    [Theory]
    [InlineData("")]
    [InlineData("# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\nprocess_cpu_seconds_total 12.5\n")]
    [InlineData("vllm:num_requests_waiting 3\n")] // half a pair: no running count to weigh it by
    [InlineData("<html><body>404 page not found</body></html>")]
    public void WithoutBothGaugesOfAServer_NoReading(string text) => Assert.Null(PrometheusQueueText.Read(text));

    [Fact]
    public void LabelValuesWithBracesQuotesAndSpaces_TimestampsAndCrLf_AreRead()
    {
        const string text = "vllm:num_requests_waiting{model_name=\"odd } \\\"name\\\" {x}\",engine=\"0\"} 2.5e0 1712345678000\r\n" +
            "vllm:num_requests_running{model_name=\"odd } \\\"name\\\" {x}\",engine=\"0\"}\t5\r\n";

        Assert.Equal(new QueueGauge("vllm", 2.5, 5), PrometheusQueueText.Read(text));
    }

    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(0, 4, 0)]
    [InlineData(4, 4, 0.5)]
    [InlineData(46, 4, 0.92)]
    public void WaitShare_IsWaitingOverAllInside(double waiting, double running, double share) =>
        Assert.Equal(share, new QueueGauge("vllm", waiting, running).WaitShare, 3);
}
