namespace OllamaSim;

/// <summary>Which OpenAI-compatible server the simulator passes for in what it tells about itself (metrics, timings).</summary>
public enum ServerFlavor
{
    /// <summary>vLLM: <c>vllm:*</c> metrics labelled <c>model_name</c> (vllm/v1/metrics/loggers.py).</summary>
    Vllm,

    /// <summary>SGLang: <c>sglang:*</c> metrics (python/sglang/srt/metrics/collector.py).</summary>
    Sglang,

    /// <summary>llama.cpp's server: <c>llamacpp:*</c> metrics and a <c>timings</c> object in every answer (tools/server).</summary>
    LlamaCpp,

    /// <summary>Only the answers: no <c>/metrics</c> (404) and no timings, like a server that tells nothing.</summary>
    Plain,
}
