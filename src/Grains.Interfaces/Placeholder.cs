namespace OrleansLlm; internal static class Placeholder { }
