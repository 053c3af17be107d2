using System.Globalization;

namespace OrleansLlm.OpenAiCompatible;

/// <summary>
/// Reads the server's waiting and running request counts from its Prometheus text (<c>/metrics</c>), under the names
/// each server gives them. Every series of a name is summed: vLLM labels its gauges per engine
/// (<c>model_name</c>, <c>engine</c>), SGLang per data-parallel rank, llama.cpp has no labels.
/// </summary>
public static class PrometheusQueueText
{
    /// <summary>The (waiting, running) gauges of each server, as its source declares them.</summary>
    private static readonly (string Server, string Waiting, string Running)[] Known =
    [
        // vllm/v1/metrics/loggers.py, PrometheusStatLogger: "Number of requests waiting to be processed." and
        // "Number of requests in model execution batches."
        ("vllm", "vllm:num_requests_waiting", "vllm:num_requests_running"),
        // python/sglang/srt/metrics/collector.py, SchedulerMetricsCollector.
        ("sglang", "sglang:num_queue_reqs", "sglang:num_running_reqs"),
        // tools/server (the /metrics handler of llama-server, with --metrics): deferred = waiting for a free slot.
        ("llamacpp", "llamacpp:requests_deferred", "llamacpp:requests_processing"),
    ];

    /// <summary>The first server whose two gauges are both in <paramref name="text"/>; null when none is.</summary>
    public static QueueGauge? Read(string text)
    {
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (Sample(line.Trim(), out var name, out var value) && IsKnown(name) is { } known)
            {
                sums[known] = sums.GetValueOrDefault(known) + value;
            }
        }

        foreach (var (server, waiting, running) in Known)
        {
            if (sums.TryGetValue(waiting, out var w) && sums.TryGetValue(running, out var r))
            {
                return new QueueGauge(server, w, r);
            }
        }

        return null;
    }

    private static string? IsKnown(ReadOnlySpan<char> name)
    {
        foreach (var (_, waiting, running) in Known)
        {
            if (name.SequenceEqual(waiting))
            {
                return waiting;
            }

            if (name.SequenceEqual(running))
            {
                return running;
            }
        }

        return null;
    }

    /// <summary>
    /// One sample line, <c>name{labels} value [timestamp]</c>; comments (<c># HELP</c>, <c># TYPE</c>), blank lines and
    /// values that are not finite numbers are not samples.
    /// </summary>
    private static bool Sample(ReadOnlySpan<char> line, out ReadOnlySpan<char> name, out double value)
    {
        name = default;
        value = 0;
        if (line.IsEmpty || line[0] == '#')
        {
            return false;
        }

        var end = line.IndexOfAny('{', ' ', '\t');
        if (end <= 0)
        {
            return false;
        }

        name = line[..end];
        var rest = line[end..];
        if (rest[0] == '{' && LabelsEnd(rest) is var close and > 0)
        {
            rest = rest[(close + 1)..];
        }
        else if (rest[0] == '{')
        {
            return false;
        }

        rest = rest.TrimStart();
        var space = rest.IndexOfAny(' ', '\t');
        var number = space < 0 ? rest : rest[..space];
        return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }

    // The closing brace of a label set; a label value may hold braces and escaped quotes.
    private static int LabelsEnd(ReadOnlySpan<char> labels)
    {
        var quoted = false;
        for (var i = 1; i < labels.Length; i++)
        {
            switch (labels[i])
            {
                case '\\' when quoted:
                    i++;
                    break;
                case '"':
                    quoted = !quoted;
                    break;
                case '}' when !quoted:
                    return i;
            }
        }

        return -1;
    }
}
