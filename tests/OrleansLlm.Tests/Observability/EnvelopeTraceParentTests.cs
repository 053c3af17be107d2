using System.Diagnostics;
using OrleansLlm.Queue;

namespace OrleansLlm.Tests.Observability;

/// <summary>Which traceparent an envelope carries: a valid one, given by the span that wrote it, or none.</summary>
[Trait("Category", "Unit")]
public sealed class EnvelopeTraceParentTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not-a-traceparent")]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\",\"b\":\"evil")]
    [InlineData("00-00000000000000000000000000000000-b7ad6b7169203331-01")]
    public void InvalidTraceParent_IsLeftOut_AndTheItemStartsATraceOfItsOwn(string? traceParent)
    {
        var payload = Envelope.Encode("b-1", "x", "{}", traceParent);

        Assert.Equal(Envelope.Encode("b-1", "x", "{}"), payload);
        Assert.Null(Envelope.TraceParentOf(payload));
    }

    [Theory]
    [InlineData("""{"olm":{"b":"b-1","id":"x"},"item":{}}""")]
    [InlineData("""{"city":"Paris","tp":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}""")]
    [InlineData("""{"olm":{"b":"b-1","tp":"unterminated""")]
    [InlineData("not json")]
    public void PayloadWithoutTraceParent_HasNone(string payload) => Assert.Null(Envelope.TraceParentOf(payload));

    [Fact]
    public void TraceParentOfAnEnvelope_NamesTheSpanThatWroteIt()
    {
        using var source = new ActivitySource("envelope-trace-test");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var span = source.StartActivity("submit")!;

        var payload = Envelope.Encode("b-1", "x", "{}", span.Id);

        Assert.True(ActivityContext.TryParse(Envelope.TraceParentOf(payload), null, out var context));
        Assert.Equal(span.TraceId, context.TraceId);
        Assert.Equal(span.SpanId, context.SpanId);
    }
}
