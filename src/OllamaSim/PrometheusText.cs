using System.Globalization;
using System.Text;

namespace OllamaSim;

/// <summary>
/// The Prometheus text exposition format (version 0.0.4), as <c>prometheus_client</c> (vLLM, SGLang) and llama.cpp's
/// server write it: a HELP and a TYPE line, then the sample.
/// </summary>
internal sealed class PrometheusText(string labels, bool floats)
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly StringBuilder _text = new();

    public PrometheusText Gauge(string name, string help, double value) => Add(name, help, "gauge", value);

    /// <summary>A counter: prometheus_client names its sample <c>name_total</c>; llama.cpp's names already end so.</summary>
    public PrometheusText Counter(string name, string help, double value) => Add(name, help, "counter", value);

    /// <summary>A counter with one sample per value of an extra label, e.g. vLLM's finished_reason.</summary>
    public PrometheusText Counter(string name, string help, IEnumerable<(string Labels, double Value)> samples)
    {
        Describe(name, help, "counter");
        foreach (var (sampleLabels, value) in samples)
        {
            Sample(name, sampleLabels, value);
        }

        return this;
    }

    public override string ToString() => _text.ToString();

    private PrometheusText Add(string name, string help, string type, double value)
    {
        Describe(name, help, type);
        Sample(name, labels, value);
        return this;
    }

    private void Describe(string name, string help, string type)
    {
        _text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        _text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    private void Sample(string name, string sampleLabels, double value) =>
        _text.Append(name).Append(sampleLabels).Append(' ').Append(Format(value)).Append('\n');

    // prometheus_client writes every value as a Python float ("2.0"); llama.cpp streams C++ numbers ("2", "0.5").
    private string Format(double value) =>
        floats && value == Math.Floor(value) && Math.Abs(value) < 1e15
            ? value.ToString("0.0", CultureInfo.InvariantCulture)
            : value.ToString("R", CultureInfo.InvariantCulture);
}
