namespace OrleansLlm.Worker;

/// <summary>A limit and the throughput a window of answers measured at it.</summary>
internal readonly record struct MeasuredLimit(int Limit, double Throughput);
