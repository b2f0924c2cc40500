/**
 * The compute service's refusals as domain exceptions, thrown below the API and mapped to HTTP
 * statuses and OpenStack's error bodies in one place ({@code api.compute.ComputeFaults}).
 */
package io.stratus.scheduler.exception;
